import { describe, expect, inject, it } from 'vitest';
import { createServer, type Server, type Socket } from 'node:net';
import { runCli } from '../helpers/cli.js';

const plain = inject('plainRedisUrl');
const hardened = inject('hardenedRedisUrl');
const password = inject('hardenedRedisPassword');
const lru = inject('lruRedisUrl');
const portOf = (url: string) => new URL(url).port;

describe('rqctl --help / --version', () => {
  it('prints help and the version, exit 0', async () => {
    const help = await runCli(['--help']);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain('Usage: rqctl');
    const version = await runCli(['--version']);
    expect(version.exitCode).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('an unknown command or option exits 2', async () => {
    expect((await runCli(['nonsense'])).exitCode).toBe(2);
    expect((await runCli(['ping', '--bogus'])).exitCode).toBe(2);
  });
});

describe('rqctl ping', () => {
  it('reports every role ok with the password masked (--json)', async () => {
    const url = hardened.replace(/\/0$/, '/0');
    const r = await runCli(['ping', '--redis-url', url, '--json']);
    expect(r.exitCode).toBe(0);
    expect(r.json.roles.map((x: any) => x.role)).toEqual(['queue', 'cache', 'session']);
    for (const role of r.json.roles) {
      expect(role.ok).toBe(true);
      expect(role.version).toMatch(/^\d+\./);
      expect(typeof role.latencyMs).toBe('number');
      expect(role.url).toContain(':****@');
    }
    expect(r.stdout + r.stderr).not.toContain(password);
  });

  it('works from REDIS_HOST / REDIS_PORT / REDIS_PASSWORD', async () => {
    const r = await runCli(['ping', '--json'], { env: { REDIS_HOST: '127.0.0.1', REDIS_PORT: portOf(hardened), REDIS_PASSWORD: password } });
    expect(r.exitCode).toBe(0);
    expect(r.json.roles.every((x: any) => x.ok)).toBe(true);
  });

  it('a wrong password exits 3 with one line and no stack trace', async () => {
    const r = await runCli(['ping'], { env: { REDIS_HOST: '127.0.0.1', REDIS_PORT: portOf(hardened), REDIS_PASSWORD: 'wrong' } });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/refused the password \(from REDIS_PASSWORD\)/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stderr).not.toContain('wrong');
  });

  it('no password against a server that needs one exits 3', async () => {
    const r = await runCli(['ping'], { env: { REDIS_URL: `redis://127.0.0.1:${portOf(hardened)}` } });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/requires a password/);
  });

  it.each(['16', 'abc'])('DB %s exits 2 before connecting', async (db) => {
    const r = await runCli(['ping', '--redis-url', `redis://127.0.0.1:${portOf(plain)}/${db}`]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/not an integer 0–15/);
  });

  it('an unreachable port exits 3 quickly with one clear line', async () => {
    const started = Date.now();
    const r = await runCli(['ping', '--redis-url', 'redis://127.0.0.1:1/0']);
    expect(r.exitCode).toBe(3);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(r.stderr.trim().split('\n')[0]).toBe('error: Redis at 127.0.0.1:1 refused the connection (nothing listening)');
  });

  it('a server that accepts but never answers times out with exit 3', async () => {
    const sockets: Socket[] = [];
    const server: Server = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const r = await runCli(['ping', '--json'], { env: { REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_CONNECT_TIMEOUT: '1000' } });
      expect(r.exitCode).toBe(3);
      expect(r.json.roles[0].ok).toBe(false);
      expect(r.stderr).toMatch(/did not answer within 1 s/);
    } finally {
      sockets.forEach((s) => s.destroy());
      server.close();
    }
  });

  it('--json errors on stderr have the documented shape', async () => {
    const r = await runCli(['ping', '--json', '--redis-url', 'redis://h/99']);
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe('');
    const err = JSON.parse(r.stderr.trim());
    expect(err.error).toMatchObject({ code: 'CONFIG_INVALID' });
    expect(typeof err.error.message).toBe('string');
    expect(typeof err.error.hint).toBe('string');
  });
});

describe('rqctl doctor', () => {
  it('fails the eviction check on an allkeys-lru server, exit 4, with the fix', async () => {
    const r = await runCli(['doctor', '--json', '--redis-url', lru]);
    expect(r.exitCode).toBe(4);
    const check = r.json.checks.find((c: any) => c.id === 'eviction-policy');
    expect(check.status).toBe('fail');
    expect(check.message).toMatch(/allkeys-lru/);
    expect(check.fix).toMatch(/noeviction/);
  });

  it('passes on the hardened server: auth, FLUSH disabled, AOF, noeviction', async () => {
    const r = await runCli(['doctor', '--json', '--redis-url', hardened]);
    const byId = Object.fromEntries(r.json.checks.map((c: any) => [c.id, c]));
    expect(byId['eviction-policy'].status).toBe('ok');
    expect(byId['flush-commands'].status).toBe('ok');
    expect(byId.persistence.status).toBe('ok');
    expect(byId.auth.status).toBe('ok');
    expect(r.json.checks.filter((c: any) => c.status === 'fail')).toEqual([]);
    expect(r.exitCode).toBe(0);
  });

  it('warns on a plain server: no AOF, no password, FLUSH enabled', async () => {
    const r = await runCli(['doctor', '--json', '--redis-url', plain], { env: { QUEUE_CONNECTION: 'sync' } });
    const byId = Object.fromEntries(r.json.checks.map((c: any) => [c.id, c]));
    expect(byId.persistence.status).toBe('warn');
    expect(byId['flush-commands'].status).toBe('warn');
    expect(byId.auth.status).toBe('warn');
    expect(byId['env.QUEUE_CONNECTION'].status).toBe('warn');
  });

  it('exits 3 when no role is reachable', async () => {
    const r = await runCli(['doctor', '--json', '--redis-url', 'redis://127.0.0.1:1/0']);
    expect(r.exitCode).toBe(3);
    expect(r.json.checks.find((c: any) => c.id === 'queue.reachable').status).toBe('fail');
  });
});

describe('rqctl config show', () => {
  it('never prints a secret', async () => {
    const r = await runCli(['config', 'show', '--json', '--redis-url', 'redis://:flag-secret@127.0.0.1:1/0'], {
      env: { REDIS_PASSWORD: 'env-secret', MAIL_PASSWORD: 'mail-secret' },
    });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).not.toMatch(/flag-secret|env-secret|mail-secret/);
    expect(r.json.roles.queue.display).toBe('redis://:****@127.0.0.1:1/0');
  });

  it('invalid configuration exits 2 and lists every problem', async () => {
    const r = await runCli(['config', 'show'], { env: { REDIS_DB: '99', REDIS_PORT: 'x' } });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('redis.db (REDIS_DB): must be a database index 0–15');
    expect(r.stderr).toContain('redis.port (REDIS_PORT): must be a port 1–65535');
  });
});
