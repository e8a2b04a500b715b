import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectEngine } from '../../src/deploy/apply/engine.js';
import { RqctlError } from '../../src/errors.js';
import { ROOT, runCli } from '../helpers/cli.js';

/**
 * docs/deployment.md: `DOCKER_HOST=ssh://` checks the server's host key against known_hosts, as ssh
 * does. A real SSH server (ssh2's, with a generated host key) on 127.0.0.1 plays the engine: it
 * answers the engine's `/_ping` over `docker system dial-stdio`, and records what the client did.
 */
const require = createRequire(import.meta.url);
const ssh2 = require('ssh2') as any;

interface FakeEngine {
  port: number;
  hostPublic: string;
  /** What clients did: authentication attempts and exec'd commands. */
  seen: string[];
  close(): Promise<void>;
}

async function startFakeEngine(): Promise<FakeEngine> {
  const hostKey = ssh2.utils.generateKeyPairSync('ed25519');
  const seen: string[] = [];
  const clients = new Set<any>();
  const server = new ssh2.Server({ hostKeys: [hostKey.private] }, (client: any) => {
    clients.add(client);
    client.on('close', () => clients.delete(client));
    client.on('error', () => {});
    client.on('authentication', (ctx: any) => {
      seen.push(`auth ${ctx.method}`);
      ctx.accept();
    });
    client.on('ready', () => {
      client.on('session', (accept: any) => {
        const session = accept();
        session.on('exec', (acceptExec: any, _reject: any, info: { command: string }) => {
          seen.push(`exec ${info.command}`);
          const stream = acceptExec();
          let buf = '';
          stream.on('data', (d: Buffer) => {
            buf += d.toString();
            if (!buf.includes('\r\n\r\n')) return;
            buf = '';
            stream.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nApi-Version: 1.45\r\nContent-Length: 2\r\n\r\nOK');
          });
        });
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    hostPublic: hostKey.public.trim(),
    seen,
    close: () => {
      for (const c of clients) c.end();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** ssh-keygen's own fingerprint of a public key: what ssh would print, computed independently of rqctl. */
function sshKeygenFingerprint(publicKey: string, dir: string): string {
  const file = join(dir, 'host.pub');
  writeFileSync(file, `${publicKey}\n`);
  const r = spawnSync('ssh-keygen', ['-lf', file], { encoding: 'utf8' });
  return /SHA256:\S+/.exec(r.stdout)![0];
}

const HAVE_SSH_KEYGEN = spawnSync('ssh-keygen', ['-?'], { encoding: 'utf8' }).error === undefined;
if (!HAVE_SSH_KEYGEN) console.warn('skipping the hashed known_hosts and fingerprint checks: ssh-keygen is not installed (openssh-client)');

describe('DOCKER_HOST=ssh:// verifies the host key', () => {
  let engine: FakeEngine;
  let other: FakeEngine;
  let home: string;
  const dirs: string[] = [];
  beforeAll(async () => {
    engine = await startFakeEngine();
    other = await startFakeEngine();
    home = mkdtempSync(join(tmpdir(), 'rqctl-ssh-home-'));
    dirs.push(home);
    mkdirSync(join(home, '.ssh'));
    // The client's key: any key will do, the fake engine accepts every one.
    writeFileSync(join(home, '.ssh', 'id_ed25519'), ssh2.utils.generateKeyPairSync('ed25519').private, { mode: 0o600 });
  });
  const savedHome = process.env.HOME;
  afterAll(async () => {
    process.env.HOME = savedHome;
    await engine?.close();
    await other?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const knownHosts = (text: string): string => {
    const d = mkdtempSync(join(tmpdir(), 'rqctl-known-'));
    dirs.push(d);
    writeFileSync(join(d, 'known_hosts'), text);
    return join(d, 'known_hosts');
  };
  const target = (known: string) => ({ host: `ssh://deploy@127.0.0.1:${engine.port}`, sshKnownHosts: known, sshAuthSock: undefined });
  const privateKeyHome = () => {
    // dockerOptions reads ~/.ssh/id_ed25519 when no agent is set.
    process.env.HOME = home;
  };

  it('item 4: a known_hosts with the right key passes the host check (plain and hashed entries)', async () => {
    privateKeyHome();
    const entry = `[127.0.0.1]:${engine.port} ${engine.hostPublic}`;
    const docker = await connectEngine(target(knownHosts(`# a comment\nexample.org ${other.hostPublic}\n${entry}\n`)), 10_000);
    expect(docker).toBeDefined();
    expect(engine.seen).toContain('exec docker system dial-stdio');
    if (HAVE_SSH_KEYGEN) {
      // ssh-keygen -H rewrites the file with hashed host names (HashKnownHosts yes).
      const file = knownHosts(`${entry}\n`);
      expect(spawnSync('ssh-keygen', ['-H', '-f', file]).status).toBe(0);
      const hashed = await import('node:fs').then((fs) => fs.readFileSync(file, 'utf8'));
      expect(hashed).toMatch(/^\|1\|/);
      expect(hashed).not.toContain('127.0.0.1');
      engine.seen.length = 0;
      await connectEngine(target(file), 10_000);
      expect(engine.seen).toContain('exec docker system dial-stdio');
    }
  });

  it('item 4: an unknown host key is exit 3 naming its SHA256 fingerprint, and nothing is sent to the host', async () => {
    privateKeyHome();
    engine.seen.length = 0;
    const err = await connectEngine(target(knownHosts(`example.org ${engine.hostPublic}\n`)), 10_000).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RqctlError);
    const e = err as RqctlError;
    expect(e.exitCode).toBe(3);
    expect(e.code).toBe('SSH_HOST_KEY_UNKNOWN');
    expect(e.message).toMatch(new RegExp(`host key of \\[127\\.0\\.0\\.1\\]:${engine.port} is not in`));
    if (HAVE_SSH_KEYGEN) expect(e.message).toContain(sshKeygenFingerprint(engine.hostPublic, home));
    expect(e.message).toMatch(/ssh-ed25519 key fingerprint SHA256:[A-Za-z0-9+/]{43}\b/);
    // Refused before authentication: no credentials went to a host nobody vouched for.
    expect(engine.seen).toEqual([]);
  });

  it('item 4: a host that presents another key than known_hosts lists is exit 3 (changed), naming the presented fingerprint', async () => {
    privateKeyHome();
    engine.seen.length = 0;
    const err = (await connectEngine(target(knownHosts(`[127.0.0.1]:${engine.port} ${other.hostPublic}\n`)), 10_000).catch((e: unknown) => e)) as RqctlError;
    expect(err).toBeInstanceOf(RqctlError);
    expect(err.exitCode).toBe(3);
    expect(err.code).toBe('SSH_HOST_KEY_CHANGED');
    expect(err.message).toMatch(/does not match .*known_hosts:1/);
    if (HAVE_SSH_KEYGEN) expect(err.message).toContain(sshKeygenFingerprint(engine.hostPublic, home));
    expect(engine.seen).toEqual([]);
  });

  it('item 4: `rqctl deploy` to an unknown ssh:// host exits 3 with the fingerprint; DOCKER_SSH_KNOWN_HOSTS is honoured', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'rqctl-ssh-deploy-'));
    dirs.push(cwd);
    cpSync(join(ROOT, 'docker-compose.prod.yml'), join(cwd, 'docker-compose.prod.yml'));
    cpSync(join(ROOT, 'supervisord.prod.conf'), join(cwd, 'supervisord.prod.conf'));
    const env = { HOME: home, DOCKER_HOST: `ssh://deploy@127.0.0.1:${engine.port}`, REDIS_PASSWORD: 'x' };
    const r = await runCli(['deploy', '--no-build'], { env, cwd });
    expect(r.exitCode, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/^error: DOCKER_HOST ssh:\/\/deploy@127\.0\.0\.1:\d+: the host key of \[127\.0\.0\.1\]:\d+ is not in ~\/\.ssh\/known_hosts/m);
    expect(r.stderr).toMatch(/ssh-ed25519 key fingerprint SHA256:\S+/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const j = await runCli(['deploy', '--no-build', '--json'], {
      env: { ...env, DOCKER_SSH_KNOWN_HOSTS: knownHosts(`other.example ${engine.hostPublic}\n`) },
      cwd,
    });
    expect(j.exitCode).toBe(3);
    const error = JSON.parse(j.stderr.trim().split('\n').pop()!).error;
    expect(error).toMatchObject({ code: 'SSH_HOST_KEY_UNKNOWN', details: { keyType: 'ssh-ed25519' } });
    expect(error.details.fingerprint).toMatch(/^SHA256:/);
    expect(error.message).toContain('rqctl-known-');
  });

  it('item 4: DOCKER_HOST=tcp:// without TLS is warned about', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'rqctl-tcp-deploy-'));
    dirs.push(cwd);
    cpSync(join(ROOT, 'docker-compose.prod.yml'), join(cwd, 'docker-compose.prod.yml'));
    // An engine that answers its ping in clear text (and nothing else usefully): the deploy goes on
    // over plain TCP, so the operator is warned, whatever fails later.
    const fake = createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/plain', 'Api-Version': '1.45' }).end('OK'));
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
    const port = (fake.address() as AddressInfo).port;
    const r = await runCli(['deploy', '--no-build', '--timeout', '5s'], {
      env: { HOME: home, DOCKER_HOST: `tcp://127.0.0.1:${port}`, REDIS_PASSWORD: 'x' },
      cwd,
    });
    fake.closeAllConnections();
    fake.close();
    expect(r.stderr).toMatch(/^warning: DOCKER_HOST tcp:\/\/127\.0\.0\.1:\d+ is plain TCP without TLS/m);
    expect(r.exitCode).not.toBe(0);
    const tls = await runCli(['deploy', '--no-build'], {
      env: { HOME: home, DOCKER_HOST: `tcp://127.0.0.1:2376`, REDIS_PASSWORD: 'x' },
      cwd,
      timeoutMs: 40_000,
    });
    expect(tls.stderr).not.toMatch(/plain TCP/);
  });
});
