import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, chmodSync, constants, existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { parseInfo } from '../../redis/info.js';
import { writeFileSafely } from '../../util/safe-write.js';

// What the embedded server needs from this host: its binary, a free port, its files under
// `.rqctl`, and a way to tell whether a pid still runs and a port answers.

/** `.rqctl/redis.json`: the running server, for the next `rqctl up` to adopt. */
export interface State {
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

export function readPassword(file: string): string {
  if (existsSync(file)) {
    const pw = readFileSync(file, 'utf8').trim();
    chmodSync(file, 0o600);
    if (pw) return pw;
  }
  const pw = randomBytes(24).toString('base64url');
  writeFileSafely(file, `${pw}\n`, { mode: 0o600 });
  return pw;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function probe(
  port: number,
  password: string,
  timeoutMs: number,
): Promise<{ ok: true; info: Record<string, string> } | { ok: false; error: string }> {
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

export async function waitForExit(pid: number, child: ChildProcess | undefined, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child ? child.exitCode !== null || child.signalCode !== null : !alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** Where the embedded server keeps its files, all under the `.rqctl` directory. */
export interface EmbeddedPaths {
  stateDir: string;
  dataDir: string;
  confFile: string;
  /** `{pid, port}` of the running server, for the next `rqctl up` to adopt it. */
  stateFile: string;
  passwordFile: string;
  logFile: string;
}

export function embeddedPaths(stateDirOption: string): EmbeddedPaths {
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
export interface ServerProcess {
  pid: number;
  port: number;
  version: string;
  adopted: boolean;
  child?: ChildProcess;
}
