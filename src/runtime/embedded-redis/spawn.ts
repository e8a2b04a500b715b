import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { writeFileSafely } from '../../util/safe-write.js';
import { ExitCode, RqctlError } from '../../errors.js';
import { compareVersions } from '../../redis/info.js';
import type { EventLog } from '../events.js';
import { anyFreePort, choosePort, INSTALL_HINT, probe, waitForExit, type EmbeddedPaths, type ServerProcess, type State } from './host.js';

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
  writeFileSafely(file, `${lines.join('\n')}\n`, { mode: 0o600 });
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

/** Starts redis-server on a free port; a port taken between the bind test and its own bind is retried. */
export async function spawnServer(
  binary: string,
  paths: EmbeddedPaths,
  password: string,
  preferredPort: number | undefined,
  log: EventLog,
): Promise<ServerProcess> {
  let lastError = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    // Between the bind test and redis-server's own bind another process may take the port: retry.
    const port = attempt === 0 ? await choosePort(preferredPort ?? 6379) : await anyFreePort();
    const started = await startOnce(binary, paths, password, port, log);
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
  writeFileSafely(paths.stateFile, JSON.stringify({ pid: child.pid!, port } satisfies State), { mode: 0o600 });
  child.stderr?.removeAllListeners('data');
  child.stderr?.resume();
  return { pid: child.pid!, port, version, adopted: false, child };
}
