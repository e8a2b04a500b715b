import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { ExitCode, RqctlError } from '../../errors.js';
import { entriesFor, hostKeyAlgorithms, knownHostName, readKnownHosts, verifyHostKey, type HostKeyVerdict } from './known-hosts.js';

/**
 * The Docker engine rqctl deploys to, reached the way the docker CLI would reach it: `DOCKER_HOST`
 * as `unix://` (default /var/run/docker.sock), `ssh://user@host[:port]` (the engine's own
 * `docker system dial-stdio` over SSH, authenticated by the ssh-agent or a default key), or
 * `tcp://` (TLS with DOCKER_TLS_VERIFY / DOCKER_CERT_PATH).
 */
export interface EngineTarget {
  host?: string;
  tlsVerify?: boolean;
  certPath?: string;
  sshAuthSock?: string;
  /** `DOCKER_SSH_KNOWN_HOSTS`: the known_hosts file for ssh:// hosts (default ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts). */
  sshKnownHosts?: string;
}

/** Filled in by the ssh:// host-key check: what the server presented and what known_hosts said. */
export interface HostKeyCheck {
  verdict?: HostKeyVerdict;
}

/** The known_hosts files an ssh:// DOCKER_HOST is checked against, as ssh reads them. */
export function knownHostsFiles(target: EngineTarget): string[] {
  return target.sshKnownHosts ? [target.sshKnownHosts] : [join(homedir(), '.ssh', 'known_hosts'), '/etc/ssh/ssh_known_hosts'];
}

/** A warning for a DOCKER_HOST that talks to the engine in clear text (tcp:// without TLS), else undefined. */
export function plainTcpWarning(target: EngineTarget): string | undefined {
  const host = target.host ?? '';
  if (!/^(tcp|http):\/\//.test(host)) return undefined;
  const { protocol } = dockerOptions(target);
  if (protocol !== 'http') return undefined;
  return `DOCKER_HOST ${host} is plain TCP without TLS: anyone who can reach that port controls the Docker engine (root on the host), and the deploy can be read or altered on the way; use ssh://user@host, or TLS (port 2376 with DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH)`;
}

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

/** How the engine is shown to the operator (no credentials: DOCKER_HOST carries none but a user). */
export function engineDisplay(target: EngineTarget): string {
  return target.host ?? `unix://${DEFAULT_DOCKER_SOCKET}`;
}

export function dockerOptions(target: EngineTarget, hostKeys: HostKeyCheck = {}): Docker.DockerOptions {
  const host = target.host ?? `unix://${DEFAULT_DOCKER_SOCKET}`;
  // docker-modem also reads DOCKER_HOST itself and lets these options override it: every field is
  // set explicitly so that what the CLI resolved is what is used.
  const base: Docker.DockerOptions = { socketPath: undefined, host: undefined, port: undefined, protocol: undefined, username: undefined };
  if (host.startsWith('unix://')) return { ...base, socketPath: host.slice('unix://'.length) || DEFAULT_DOCKER_SOCKET };
  if (host.startsWith('/')) return { ...base, socketPath: host };
  let url: URL;
  try {
    url = new URL(host.includes('://') ? host : `tcp://${host}`);
  } catch {
    throw new RqctlError('DOCKER_HOST_INVALID', ExitCode.usage, `DOCKER_HOST "${host}" is not a Docker address`, {
      hint: 'use unix:///var/run/docker.sock, ssh://user@host or tcp://host:2376',
    });
  }
  if (url.protocol === 'ssh:') {
    const sshOptions: Record<string, unknown> = { readyTimeout: 15_000, ...hostKeyOptions(target, url, hostKeys) };
    if (target.sshAuthSock) sshOptions.agent = target.sshAuthSock;
    else {
      // Without an agent, the key ssh itself would try first.
      const key = ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((n) => join(homedir(), '.ssh', n)).find((p) => existsSync(p));
      if (key) sshOptions.privateKey = readFileSync(key);
    }
    return {
      ...base,
      protocol: 'ssh',
      host: url.hostname,
      port: url.port || 22,
      username: decodeURIComponent(url.username) || undefined,
      sshOptions: sshOptions as Docker.DockerOptions['sshOptions'],
    };
  }
  if (url.protocol === 'tcp:' || url.protocol === 'http:' || url.protocol === 'https:') {
    const tls = target.tlsVerify || url.port === '2376' || url.protocol === 'https:';
    const opts: Docker.DockerOptions = { ...base, host: url.hostname, port: url.port || (tls ? 2376 : 2375), protocol: tls ? 'https' : 'http' };
    if (target.certPath) {
      opts.ca = readFileSync(join(target.certPath, 'ca.pem'));
      opts.cert = readFileSync(join(target.certPath, 'cert.pem'));
      opts.key = readFileSync(join(target.certPath, 'key.pem'));
    }
    return opts;
  }
  throw new RqctlError('DOCKER_HOST_INVALID', ExitCode.usage, `DOCKER_HOST "${host}": unsupported scheme ${url.protocol}`, {
    hint: 'use unix:///var/run/docker.sock, ssh://user@host or tcp://host:2376',
  });
}

/**
 * ssh2 accepts any host key unless told otherwise, so a server in the middle could play the engine
 * and fake the containers' states that verify reads. Like ssh: only a key listed for the host in a
 * known_hosts file is accepted, and the host's known key types are asked for first.
 */
function hostKeyOptions(target: EngineTarget, url: URL, check: HostKeyCheck): Record<string, unknown> {
  const files = knownHostsFiles(target);
  const entries = readKnownHosts(files);
  const name = knownHostName(url.hostname.replace(/^\[(.*)\]$/, '$1'), Number(url.port || 22));
  const preferred = [...new Set(entriesFor(entries, name).flatMap((e) => hostKeyAlgorithms(e.keyType)))];
  return {
    hostVerifier: (key: Buffer) => {
      check.verdict = verifyHostKey(entries, files, name, key);
      return check.verdict.status === 'known';
    },
    ...(preferred.length ? { algorithms: { serverHostKey: { remove: preferred, prepend: preferred } } } : {}),
  };
}

/** The one-line refusal for a host key that is not known (exit 3), naming the fingerprint as ssh does. */
function hostKeyError(target: EngineTarget, v: HostKeyVerdict): RqctlError {
  const at = `DOCKER_HOST ${engineDisplay(target)}`;
  const key = `${v.keyType} key fingerprint ${v.fingerprint}`;
  const where = v.files.map((f) => f.replace(homedir(), '~')).join(' or ');
  const details = { hostName: v.hostName, keyType: v.keyType, fingerprint: v.fingerprint, status: v.status };
  if (v.status === 'changed')
    return new RqctlError(
      'SSH_HOST_KEY_CHANGED',
      ExitCode.unreachable,
      `${at}: the host key of ${v.hostName} does not match ${v.entry!.file.replace(homedir(), '~')}:${v.entry!.line} (${key}); someone may be impersonating the host, or its key was replaced`,
      {
        hint: `if the key was replaced on purpose, check the new fingerprint with the host's administrator, then \`ssh-keygen -R '${v.hostName}'\` and add the new key`,
        details,
      },
    );
  if (v.status === 'revoked')
    return new RqctlError('SSH_HOST_KEY_REVOKED', ExitCode.unreachable, `${at}: the host key of ${v.hostName} is marked @revoked (${key})`, {
      hint: 'the host must be given a new key; do not deploy to it until then',
      details,
    });
  return new RqctlError(
    'SSH_HOST_KEY_UNKNOWN',
    ExitCode.unreachable,
    `${at}: the host key of ${v.hostName} is not in ${where} (${key}); rqctl does not trust an unknown host`,
    {
      hint: "check the fingerprint with the host's administrator (`ssh-keygen -lf` on the host's key), then add the key to known_hosts (`ssh` to the host once and answer yes), or point DOCKER_SSH_KNOWN_HOSTS at a known_hosts file that lists it",
      details,
    },
  );
}

/**
 * Connects and pings. Any failure is the one-line "no engine" error (exit 3): in CI it almost always
 * means a wrong DOCKER_HOST, a missing SSH key, or a daemon that is not running.
 */
export async function connectEngine(target: EngineTarget, timeoutMs = 20_000): Promise<Docker> {
  const { default: DockerClass } = await import('dockerode');
  const hostKeys: HostKeyCheck = {};
  const docker = new DockerClass(dockerOptions(target, hostKeys));
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      docker.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${Math.round(timeoutMs / 1000)}s`)), timeoutMs);
      }),
    ]);
  } catch (e) {
    if (hostKeys.verdict && hostKeys.verdict.status !== 'known') throw hostKeyError(target, hostKeys.verdict);
    throw new RqctlError('DOCKER_UNREACHABLE', ExitCode.unreachable, `no Docker engine reachable at ${engineDisplay(target)}: ${oneLine(e)}`, { cause: e });
  } finally {
    clearTimeout(timer);
  }
  return docker;
}

function oneLine(e: unknown): string {
  const err = e as NodeJS.ErrnoException & { reason?: string; statusCode?: number };
  if (err?.code === 'ENOENT') return 'the socket does not exist (is dockerd running? is DOCKER_HOST right?)';
  if (err?.code === 'EACCES') return 'permission denied on the socket (add the user to the docker group, or use sudo)';
  if (err?.code === 'ECONNREFUSED') return 'connection refused';
  const msg = (err?.message ?? String(e)).split('\n')[0];
  return msg.replace(/^\(HTTP code \d+\)\s*/, '');
}

/** Containers of one compose project, one-off `run` containers excluded. */
export async function projectContainers(docker: Docker, project: string): Promise<Docker.ContainerInfo[]> {
  const list = await docker.listContainers({ all: true, filters: { label: [`com.docker.compose.project=${project}`] } });
  return list.filter((c) => (c.Labels['com.docker.compose.oneoff'] ?? 'False').toLowerCase() !== 'true');
}

export interface ExecResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command in a running container (like `docker exec`), bounded in time. */
export async function execIn(docker: Docker, containerId: string, cmd: string[], timeoutMs = 30_000): Promise<ExecResult> {
  const container = docker.getContainer(containerId);
  const exec = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, Tty: false });
  const stream = await exec.start({ hijack: true, stdin: false });
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (d: Buffer) => (stdout += d.toString()));
  err.on('data', (d: Buffer) => (stderr += d.toString()));
  docker.modem.demuxStream(stream, out, err);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      new Promise<void>((resolve, reject) => {
        stream.on('end', resolve);
        stream.on('close', resolve);
        stream.on('error', reject);
      }),
      new Promise<void>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`\`${cmd.join(' ')}\` did not finish within ${Math.round(timeoutMs / 1000)}s`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    stream.destroy();
  }
  const info = await exec.inspect();
  return { exitCode: info.ExitCode, stdout, stderr };
}

/** The last `lines` lines a container wrote (stdout and stderr, in order). */
export async function containerLogTail(docker: Docker, containerId: string, lines: number): Promise<string[]> {
  const container = docker.getContainer(containerId);
  const info = await container.inspect();
  const buf = (await container.logs({ stdout: true, stderr: true, tail: lines, follow: false })) as unknown as Buffer;
  const text = info.Config.Tty ? buf.toString('utf8') : demuxBuffer(buf);
  return text.split('\n').filter((l, i, a) => l !== '' || i < a.length - 1);
}

/** The engine's multiplexed log format: 8-byte frame headers (stream, 0, 0, 0, size32be), then the bytes. */
export function demuxBuffer(buf: Buffer): string {
  let text = '';
  let i = 0;
  while (i + 8 <= buf.length) {
    const size = buf.readUInt32BE(i + 4);
    text += buf.subarray(i + 8, i + 8 + size).toString('utf8');
    i += 8 + size;
  }
  return text;
}
