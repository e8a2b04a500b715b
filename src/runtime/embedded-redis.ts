import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, chmodSync, constants, existsSync, mkdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { ExitCode, RqctlError } from '../errors.js';
import { compareVersions, parseInfo } from '../redis/info.js';
import type { EventLog } from './events.js';

/**
 * The redis-server `rqctl up` starts when no Redis is configured (docs/up.md): found on PATH, bound to
 * 127.0.0.1 on a free port (6379 when free), data in `.rqctl/redis/` with AOF on and `noeviction`
 * (it holds the queue), and a generated password kept in `.rqctl/redis-password` (0600) so a restart
 * finds its data again. The password reaches redis-server through `.rqctl/redis.conf` (0600), never
 * its command line, which every user sees in `ps`.
 *
 * It runs in its own process group, so a terminal's Ctrl-C reaches only `rqctl up`, which stops the
 * workers first and this server last. If `rqctl up` itself is killed, the server keeps running and
 * the next `rqctl up` in the same directory adopts it (its pid and port are in `.rqctl/redis.json`).
 */
export interface EmbeddedRedisOptions {
  /** The `.rqctl` directory (usually `<cwd>/.rqctl`). */
  stateDir: string;
  /** Port to try first: 6379 by default; 0 = any free port. Only bind-tested, never connected to. */
  preferredPort?: number;
  /** PATH to look for redis-server in (the CLI passes the environment's). */
  searchPath?: string;
  log: EventLog;
}

export interface EmbeddedRedis {
  host: '127.0.0.1';
  port: number;
  password: string;
  pid: number;
  /** redis://127.0.0.1:port/0 (no password: pass it separately). */
  url: string;
  dataDir: string;
  logFile: string;
  passwordFile: string;
  version: string;
  /** True when it was left running by an earlier `rqctl up` and taken over. */
  adopted: boolean;
  /** Resolves when the server process exits, for whatever reason. */
  exited: Promise<void>;
  /** Stops the server (SIGTERM: it flushes the AOF and exits), waits for it; SIGKILL after 10 s. */
  close(): Promise<void>;
}

interface State {
  pid: number;
  port: number;
}

export const INSTALL_HINT =
  'install it — Debian/Ubuntu: `sudo apt-get install redis-server`, macOS: `brew install redis` — or point rqctl at a Redis server: REDIS_URL=redis://host:6379 with REDIS_PASSWORD (or --redis-url, or redis.url in rqctl.config.yaml)';

/** redis-server's absolute path, or undefined. */
export function findRedisServer(searchPath: string | undefined): string | undefined {
  for (const dir of (searchPath ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, 'redis-server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/** True when nothing listens on 127.0.0.1:port (a bind test: nothing is ever sent to the port). */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolvePromise(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolvePromise(true)));
  });
}

/** A port the OS says is free on 127.0.0.1. */
export function anyFreePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolvePromise(port));
    });
  });
}

/** The preferred port when free, else any free one. */
export async function choosePort(preferred: number): Promise<number> {
  if (preferred > 0 && (await portIsFree(preferred))) return preferred;
  return anyFreePort();
}

function readPassword(file: string): string {
  if (existsSync(file)) {
    const pw = readFileSync(file, 'utf8').trim();
    chmodSync(file, 0o600);
    if (pw) return pw;
  }
  const pw = randomBytes(24).toString('base64url');
  writeFileSync(file, `${pw}\n`, { mode: 0o600 });
  return pw;
}

/** redis.conf string quoting: double quotes with backslash escapes. */
function q(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function writeConf(file: string, o: { port: number; dataDir: string; logFile: string; password: string }): void {
  const lines = [
    '# Written by `rqctl up` at every start; edits are overwritten.',
    'bind 127.0.0.1',
    `port ${o.port}`,
    'protected-mode yes',
    'daemonize no',
    `dir ${q(o.dataDir)}`,
    `logfile ${q(o.logFile)}`,
    '# It holds the queue: never evict, and keep every write (AOF, fsync every second).',
    'maxmemory-policy noeviction',
    'appendonly yes',
    'appendfsync everysec',
    'save ""',
    `requirepass ${q(o.password)}`,
  ];
  writeFileSync(file, `${lines.join('\n')}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Our server runs with its data directory as working directory: on Linux that identifies it without
 * talking to it, so a reused pid never makes rqctl connect to a server it did not start.
 */
function isOurServer(pid: number, dataDir: string): boolean {
  if (!existsSync('/proc/self/cwd')) return true; // no /proc (macOS): INFO's process_id is checked instead
  try {
    return readlinkSync(`/proc/${pid}/cwd`) === dataDir && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('redis-server');
  } catch {
    return false;
  }
}

/** Size of the log before a start: what our server writes comes after it. */
function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** redis-server logs this once it listens; only then is the port known to be ours. */
function logSaysReady(file: string, from: number, pid: number): boolean {
  try {
    const text = readFileSync(file).subarray(from).toString('utf8');
    return text.split('\n').some((l) => l.startsWith(`${pid}:`) && /Ready to accept connections/.test(l));
  } catch {
    return false;
  }
}

function logTail(file: string, lines = 5): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

async function probe(port: number, password: string, timeoutMs: number): Promise<{ ok: true; info: Record<string, string> } | { ok: false; error: string }> {
  const client = new Redis({
    host: '127.0.0.1',
    port,
    password,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return { ok: true, info: parseInfo(String(await client.info('server'))) };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  } finally {
    client.disconnect();
  }
}

async function waitForExit(pid: number, child: ChildProcess | undefined, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child ? child.exitCode !== null || child.signalCode !== null : !alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** Where the embedded server keeps its files, all under the `.rqctl` directory. */
interface EmbeddedPaths {
  stateDir: string;
  dataDir: string;
  confFile: string;
  /** `{pid, port}` of the running server, for the next `rqctl up` to adopt it. */
  stateFile: string;
  passwordFile: string;
  logFile: string;
}

function embeddedPaths(stateDirOption: string): EmbeddedPaths {
  const stateDir = resolve(stateDirOption);
  const dataDir = join(stateDir, 'redis');
  return {
    stateDir,
    dataDir,
    confFile: join(stateDir, 'redis.conf'),
    stateFile: join(stateDir, 'redis.json'),
    passwordFile: join(stateDir, 'redis-password'),
    logFile: join(dataDir, 'redis.log'),
  };
}

/** A server that runs: either adopted (`child` undefined: watched by pid) or spawned here. */
interface ServerProcess {
  pid: number;
  port: number;
  version: string;
  adopted: boolean;
  child?: ChildProcess;
}

function running(server: ServerProcess): boolean {
  const { child } = server;
  return child ? child.exitCode === null && child.signalCode === null : alive(server.pid);
}

function embeddedHandle(paths: EmbeddedPaths, password: string, server: ServerProcess, log: EventLog): EmbeddedRedis {
  const { pid, port, child } = server;
  const exited = child
    ? new Promise<void>((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r())))
    : (async () => {
        while (alive(pid)) await new Promise((r) => setTimeout(r, 500));
      })();
  let closing: Promise<void> | undefined;
  return {
    host: '127.0.0.1',
    port,
    password,
    pid,
    url: `redis://127.0.0.1:${port}/0`,
    dataDir: paths.dataDir,
    logFile: paths.logFile,
    passwordFile: paths.passwordFile,
    version: server.version,
    adopted: server.adopted,
    exited,
    close() {
      closing ??= stopServer(paths, server, log);
      return closing;
    },
  };
}

/** SIGTERM (redis-server flushes its AOF and exits), SIGKILL after 10 s; then its state file goes. */
async function stopServer(paths: EmbeddedPaths, server: ServerProcess, log: EventLog): Promise<void> {
  const { pid, child } = server;
  if (running(server)) {
    process.kill(pid, 'SIGTERM');
    if (!(await waitForExit(pid, child, 10_000))) {
      log({ level: 'warn', event: 'redis-kill', pid, msg: `redis-server (pid ${pid}) did not stop within 10 s; killing it` });
      process.kill(pid, 'SIGKILL');
      await waitForExit(pid, child, 5_000);
    }
  }
  rmSync(paths.stateFile, { force: true });
}

export async function startEmbeddedRedis(options: EmbeddedRedisOptions): Promise<EmbeddedRedis> {
  const paths = embeddedPaths(options.stateDir);
  const binary = findRedisServer(options.searchPath);
  if (!binary) {
    throw new RqctlError(
      'REDIS_SERVER_MISSING',
      ExitCode.unreachable,
      'no Redis is configured and redis-server was not found on PATH, so `rqctl up` cannot start its embedded server',
      {
        hint: INSTALL_HINT,
      },
    );
  }
  mkdirSync(paths.dataDir, { recursive: true, mode: 0o700 });
  chmodSync(paths.stateDir, 0o700);
  const password = readPassword(paths.passwordFile);
  const adopted = await adoptLeftRunning(paths, password, options.log);
  if (adopted) return embeddedHandle(paths, password, adopted, options.log);
  return embeddedHandle(paths, password, await spawnServer(binary, paths, password, options), options.log);
}

/**
 * Left running by an earlier `rqctl up` that was killed? Take it over rather than start a second
 * server on the same data directory. Undefined when there is none (a stale state file is removed).
 */
async function adoptLeftRunning(paths: EmbeddedPaths, password: string, log: EventLog): Promise<ServerProcess | undefined> {
  if (!existsSync(paths.stateFile)) return undefined;
  let state: State | undefined;
  try {
    state = JSON.parse(readFileSync(paths.stateFile, 'utf8')) as State;
  } catch {
    state = undefined;
  }
  if (state && Number.isInteger(state.pid) && alive(state.pid) && isOurServer(state.pid, paths.dataDir)) {
    const p = await probe(state.port, password, 2000);
    if (p.ok && Number(p.info.process_id) === state.pid) {
      log({
        event: 'redis-adopted',
        pid: state.pid,
        port: state.port,
        msg: `reusing the embedded redis-server an earlier \`rqctl up\` left running (pid ${state.pid})`,
      });
      return { pid: state.pid, port: state.port, version: p.info.redis_version ?? '?', adopted: true };
    }
    throw new RqctlError(
      'EMBEDDED_REDIS_BUSY',
      ExitCode.unreachable,
      `a redis-server (pid ${state.pid}) from an earlier \`rqctl up\` still uses ${paths.dataDir} but does not answer on port ${state.port}`,
      {
        hint: `stop it (kill ${state.pid}) and run rqctl up again`,
      },
    );
  }
  rmSync(paths.stateFile, { force: true });
  return undefined;
}

/** Starts redis-server on a free port; a port taken between the bind test and its own bind is retried. */
async function spawnServer(binary: string, paths: EmbeddedPaths, password: string, options: EmbeddedRedisOptions): Promise<ServerProcess> {
  let lastError = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    // Between the bind test and redis-server's own bind another process may take the port: retry.
    const port = attempt === 0 ? await choosePort(options.preferredPort ?? 6379) : await anyFreePort();
    const started = await startOnce(binary, paths, password, port, options.log);
    if ('pid' in started) return started;
    lastError = started.exitedWith;
    if (!/Address already in use|bind/i.test(lastError)) break;
  }
  throw new RqctlError(
    'REDIS_SERVER_START',
    ExitCode.unreachable,
    `redis-server exited at start: ${lastError.split('\n').slice(-2).join(' ') || 'no output'}`,
    { hint: `see ${paths.logFile}` },
  );
}

/**
 * One start on `port`: ready once its log says so and it answers with the password. When it exits
 * first, what it said (stderr and the log's tail); a server that never gets ready is killed.
 */
async function startOnce(binary: string, paths: EmbeddedPaths, password: string, port: number, log: EventLog): Promise<ServerProcess | { exitedWith: string }> {
  const { dataDir, logFile } = paths;
  writeConf(paths.confFile, { port, dataDir, logFile, password });
  const logStart = fileSize(logFile);
  const child = spawn(binary, [paths.confFile], { cwd: dataDir, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += d));
  const spawnError = new Promise<Error>((r) => child.once('error', r));
  const deadline = Date.now() + 60_000;
  let loadingLogged = false;
  for (;;) {
    const failed = await Promise.race([spawnError, new Promise<undefined>((r) => setTimeout(() => r(undefined), 100))]);
    if (failed)
      throw new RqctlError('REDIS_SERVER_START', ExitCode.unreachable, `cannot start ${binary}: ${failed.message}`, { hint: INSTALL_HINT, cause: failed });
    if (child.exitCode !== null || child.signalCode !== null) return { exitedWith: `${stderr}${logTail(logFile)}`.trim() };
    if (!logSaysReady(logFile, logStart, child.pid!)) {
      if (Date.now() > deadline) {
        process.kill(child.pid!, 'SIGKILL');
        throw new RqctlError('REDIS_SERVER_START', ExitCode.unreachable, 'redis-server did not get ready within 60 s', { hint: `see ${logFile}` });
      }
      if (!loadingLogged && /Loading|loading/.test(logTail(logFile, 2))) {
        loadingLogged = true;
        log({ event: 'redis-loading', msg: 'redis-server is loading its data (AOF)' });
      }
      continue;
    }
    const p = await probe(port, password, 2000);
    if (p.ok) return finishSpawn(binary, paths, child, port, p.info.redis_version ?? '0');
    if (Date.now() > deadline) {
      process.kill(child.pid!, 'SIGKILL');
      throw new RqctlError('REDIS_SERVER_START', ExitCode.unreachable, `redis-server did not answer within 60 s: ${p.error}`, { hint: `see ${logFile}` });
    }
  }
}

/** The server answered: checks its version, records it for a later adoption, stops listening to its stderr. */
async function finishSpawn(binary: string, paths: EmbeddedPaths, child: ChildProcess, port: number, version: string): Promise<ServerProcess> {
  if (compareVersions(version, '5.0') < 0) {
    process.kill(child.pid!, 'SIGTERM');
    await waitForExit(child.pid!, child, 10_000);
    throw new RqctlError('REDIS_SERVER_OLD', ExitCode.unreachable, `${binary} is Redis ${version}; BullMQ needs 5.0 or newer`, {
      hint: 'install a newer redis-server (7.x), or point rqctl at a server with REDIS_URL',
    });
  }
  writeFileSync(paths.stateFile, JSON.stringify({ pid: child.pid!, port } satisfies State), { mode: 0o600 });
  child.stderr?.removeAllListeners('data');
  child.stderr?.resume();
  return { pid: child.pid!, port, version, adopted: false, child };
}
