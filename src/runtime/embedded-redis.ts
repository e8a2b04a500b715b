import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { refuseSymlink } from '../util/safe-write.js';
import { ExitCode, RqctlError } from '../errors.js';
import { adoptLeftRunning } from './embedded-redis/adopt.js';
import {
  alive,
  embeddedPaths,
  findRedisServer,
  INSTALL_HINT,
  readPassword,
  waitForExit,
  type EmbeddedPaths,
  type ServerProcess,
} from './embedded-redis/host.js';
import { spawnServer } from './embedded-redis/spawn.js';
import type { EventLog } from './events.js';

export { choosePort, findRedisServer, portIsFree } from './embedded-redis/host.js';

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
  // Nothing under .rqctl is read or written through a symbolic link (src/util/safe-write.ts).
  for (const p of [paths.stateDir, paths.dataDir, paths.confFile, paths.stateFile, paths.passwordFile, paths.logFile]) refuseSymlink(p);
  mkdirSync(paths.dataDir, { recursive: true, mode: 0o700 });
  chmodSync(paths.stateDir, 0o700);
  const password = readPassword(paths.passwordFile);
  const adopted = await adoptLeftRunning(paths, password, options.log);
  if (adopted) return embeddedHandle(paths, password, adopted, options.log);
  return embeddedHandle(paths, password, await spawnServer(binary, paths, password, options.preferredPort, options.log), options.log);
}
