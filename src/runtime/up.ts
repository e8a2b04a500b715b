import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { CronExpressionParser } from 'cron-parser';
import type { Queue } from 'bullmq';
import { withRedisUrl, type Config } from '../config/resolve.js';
import { sameServer } from '../config/endpoints.js';
import { ExitCode } from '../errors.js';
import { openQueue } from '../queue/queues.js';
import { closeClient, connectRole, type RedisClient } from '../redis/connect.js';
import { parseDuration } from '../util/duration.js';
import { startEmbeddedRedis, type EmbeddedRedis } from './embedded-redis.js';
import type { EventLog, RuntimeEvent } from './events.js';

/**
 * `rqctl up` (docs/up.md): the whole stack in the foreground. Redis (the configured one, or an embedded
 * redis-server), N worker processes and the scheduler, with a live status.
 *
 * Workers are `rqctl worker` child processes, also for N = 1, supervised here the way supervisord
 * supervises them in production: the same code path as in production, a job that ignores its
 * timeout ends only its own process (which is then replaced), `rqctl worker restart`, `--max-jobs`
 * and `--memory` simply cycle a child, and a crashing job never takes the embedded Redis or the
 * status view down with it. The price is one Node process (~50 MB) more than running in-process.
 */

/**
 * The scheduler seam: src/runtime/scheduler.ts exports `startScheduler(config, {log})` (docs/scheduler.md);
 * `up` runs it in its own process when the module is part of the build.
 */
export type StartScheduler = (config: Config, options: { log: EventLog }) => Promise<{ close(): Promise<void> | void }>;

export interface UpOptions {
  /** Working directory: `.rqctl/` lives here. */
  cwd: string;
  workers: number;
  concurrency: number;
  queues: string[];
  scheduler: boolean;
  /** How to start one worker process: `node bin/rqctl.js worker [global flags]`, and its environment. */
  workerCommand: { command: string; args: string[]; env: NodeJS.ProcessEnv };
  /** The embedded server, used only when no Redis is configured. */
  embedded?: { preferredPort?: number; searchPath?: string };
  statusIntervalMs: number;
  log: EventLog;
  onStatus?: (status: UpStatus) => void;
  /** Tests and other callers may inject the scheduler; by default it is looked up (see StartScheduler). */
  startScheduler?: StartScheduler | null;
}

export interface QueueStatus {
  name: string;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
}

export interface UpStatus {
  /** Worker processes running now. */
  workers: number;
  processed: number;
  failed: number;
  retried: number;
  queues: QueueStatus[];
  /** Keys in the cache role's DB; null when the cache shares its DB with the queue. */
  cacheKeys: number | null;
  redisOk: boolean;
}

export interface UpInfo {
  redis: { url: string; embedded: boolean; pid?: number; port?: number; dataDir?: string; passwordFile?: string; adopted?: boolean; version?: string };
  queues: string[];
  workers: { count: number; concurrency: number; pids: number[] };
  scheduler: 'running' | 'disabled' | 'unavailable';
  nextRuns: { name: string; next: string }[];
}

export interface RunningUp {
  info: UpInfo;
  status(): UpStatus;
  /** First call: graceful (workers finish their jobs). A second call while stopping: at once. */
  close(): Promise<number>;
  /** Resolves with the exit code once everything has stopped (after close(), or a fatal failure). */
  done: Promise<number>;
}

interface Child {
  index: number;
  proc?: ChildProcess;
  startedAt: number;
  failures: number;
  restartTimer?: NodeJS.Timeout;
  exited?: Promise<void>;
}

async function lookupScheduler(): Promise<StartScheduler | null> {
  // A variable specifier: the scheduler is its own module and may be absent from a build.
  const specifier = './scheduler.js';
  try {
    const mod = (await import(specifier)) as { startScheduler?: StartScheduler };
    return typeof mod.startScheduler === 'function' ? mod.startScheduler : null;
  } catch (e) {
    if ((e as NodeJS.ErrnoException)?.code === 'ERR_MODULE_NOT_FOUND' && /scheduler\.js/.test(String((e as Error).message))) return null;
    throw e;
  }
}

/** The next run of each schedule entry (cron in its timezone, or `every`). */
export function nextRuns(config: Config, now = new Date()): { name: string; next: string }[] {
  return config.schedule.map((e) => {
    let next = '?';
    try {
      if (e.cron !== undefined) {
        next = CronExpressionParser.parse(e.cron, { tz: e.timezone ?? 'UTC', currentDate: now })
          .next()
          .toDate()
          .toISOString();
      } else if (e.every !== undefined) {
        const ms = parseDuration(e.every) ?? 0;
        next = ms > 0 ? new Date(Math.ceil((now.getTime() + 1) / ms) * ms).toISOString() : '?';
      }
    } catch {
      /* validated at config time; keep '?' */
    }
    return { name: e.name, next };
  });
}

export async function startUp(baseConfig: Config, options: UpOptions): Promise<RunningUp> {
  const log = options.log;
  let embedded: EmbeddedRedis | undefined;
  let config = baseConfig;
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  };

  try {
    if (!config.sources.redisConfigured) {
      embedded = await startEmbeddedRedis({
        stateDir: `${options.cwd}/.rqctl`,
        preferredPort: options.embedded?.preferredPort,
        searchPath: options.embedded?.searchPath,
        log,
      });
      const e = embedded;
      cleanups.push(() => e.close());
      config = withRedisUrl(config, e.url, e.password);
    }
    // Reachable at all? A clear exit 3 now beats workers that retry forever.
    const queueClient = await connectRole(config, 'queue', { use: 'worker', connectionName: 'rqctl:up' });
    queueClient.on('error', () => {});
    cleanups.push(() => closeClient(queueClient));
    const sharedCacheDb = sameServer(config.roles.cache, config.roles.queue) && config.roles.cache.db === config.roles.queue.db;
    let cacheClient: RedisClient | undefined;
    if (!sharedCacheDb) {
      cacheClient = await connectRole(config, 'cache', { use: 'worker', connectionName: 'rqctl:up' }).catch(() => undefined);
      if (cacheClient) {
        cacheClient.on('error', () => {});
        const c = cacheClient;
        cleanups.push(() => closeClient(c));
      }
    }
    const queues: Queue[] = options.queues.map((name) => openQueue(config, name, queueClient));
    cleanups.push(async () => {
      await Promise.all(queues.map((q) => q.close().catch(() => {})));
    });

    // --- workers -------------------------------------------------------------------------------
    const counters = { processed: 0, failed: 0, retried: 0 };
    let stopping = false;
    let hard = false;
    const children: Child[] = [];
    const childEnv: NodeJS.ProcessEnv = { ...options.workerCommand.env };
    if (embedded) {
      // The environment, not the command line: `ps` shows arguments to every user.
      childEnv.REDIS_URL = embedded.url;
      childEnv.REDIS_PASSWORD = embedded.password;
    }
    const forward = (child: Child, e: RuntimeEvent) => {
      if (e.event === 'processed') counters.processed++;
      if (e.event === 'failed') {
        if (e.retry) counters.retried++;
        else counters.failed++;
      }
      log({ ...e, worker: child.index });
    };
    const spawnChild = (child: Child) => {
      const args = [...options.workerCommand.args, '--concurrency', String(options.concurrency), '--queue', options.queues.join(',')];
      // Own process group: a terminal's Ctrl-C reaches `rqctl up` only, which stops the workers
      // first and Redis last. The IPC channel tells a worker when `up` is gone, even SIGKILLed.
      const proc = spawn(options.workerCommand.command, args, { cwd: options.cwd, env: childEnv, detached: true, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
      child.proc = proc;
      child.startedAt = Date.now();
      proc.on('error', (err) => log({ level: 'error', event: 'worker-spawn-failed', worker: child.index, error: err.message }));
      createInterface({ input: proc.stdout! }).on('line', (line) => {
        let e: RuntimeEvent | undefined;
        try {
          const parsed = JSON.parse(line) as RuntimeEvent & { time?: string };
          if (parsed && typeof parsed.event === 'string') {
            const { time: _time, ...rest } = parsed;
            e = rest;
          }
        } catch {
          /* not a JSON event */
        }
        forward(child, e ?? { event: 'worker-output', msg: line });
      });
      createInterface({ input: proc.stderr! }).on('line', (line) => {
        if (line.trim()) log({ level: 'warn', event: 'worker-stderr', worker: child.index, msg: line });
      });
      child.exited = new Promise((resolveExit) => {
        proc.once('exit', (code, signal) => {
          child.proc = undefined;
          resolveExit();
          if (stopping) return;
          const ranMs = Date.now() - child.startedAt;
          child.failures = code === 0 ? 0 : ranMs > 60_000 ? 1 : child.failures + 1;
          // Exit 0 (worker restart, --max-jobs, --memory): at once. A crash loop backs off to 30 s.
          const delayMs = code === 0 ? 0 : Math.min(30_000, 1000 * 2 ** Math.max(0, child.failures - 1));
          log({ level: code === 0 ? 'info' : 'warn', event: 'worker-exited', worker: child.index, pid: proc.pid, code, signal, restartInMs: delayMs });
          child.restartTimer = setTimeout(() => {
            if (!stopping) spawnChild(child);
          }, delayMs);
        });
      });
    };
    for (let i = 1; i <= options.workers; i++) {
      const child: Child = { index: i, startedAt: Date.now(), failures: 0 };
      children.push(child);
      spawnChild(child);
    }
    const stopChildren = async () => {
      for (const c of children) if (c.restartTimer) clearTimeout(c.restartTimer);
      for (const c of children) c.proc?.kill('SIGTERM');
      await Promise.all(children.map((c) => c.exited));
    };
    cleanups.push(stopChildren);

    // --- scheduler -----------------------------------------------------------------------------
    let schedulerState: UpInfo['scheduler'] = 'disabled';
    if (options.scheduler) {
      const start = options.startScheduler === undefined ? await lookupScheduler() : options.startScheduler;
      if (start) {
        const scheduler = await start(config, { log });
        cleanups.push(async () => {
          await scheduler.close();
        });
        schedulerState = 'running';
      } else {
        schedulerState = 'unavailable';
        log({
          level: 'warn',
          event: 'scheduler-unavailable',
          msg: 'this build has no scheduler; run the schedule elsewhere (`rqctl scheduler`) or update rqctl',
        });
      }
    }

    // --- status --------------------------------------------------------------------------------
    let status: UpStatus = { workers: 0, processed: 0, failed: 0, retried: 0, queues: [], cacheKeys: null, redisOk: true };
    let polling = false;
    const poll = async () => {
      if (polling) return;
      polling = true;
      try {
        const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('status timed out')), 3000).unref());
        const [qs, cacheKeys] = await Promise.race([
          Promise.all([
            Promise.all(
              queues.map(async (q) => {
                const c = await q.getJobCounts('wait', 'prioritized', 'active', 'delayed', 'failed');
                return { name: q.name, waiting: (c.wait ?? 0) + (c.prioritized ?? 0), active: c.active ?? 0, delayed: c.delayed ?? 0, failed: c.failed ?? 0 };
              }),
            ),
            cacheClient ? cacheClient.dbsize() : Promise.resolve(null),
          ]),
          timeout,
        ]);
        status = { ...counters, workers: children.filter((c) => c.proc).length, queues: qs, cacheKeys, redisOk: true };
      } catch {
        status = { ...status, ...counters, workers: children.filter((c) => c.proc).length, redisOk: false };
      } finally {
        polling = false;
      }
      options.onStatus?.(status);
    };
    const statusTimer = setInterval(() => void poll(), options.statusIntervalMs);
    cleanups.push(async () => clearInterval(statusTimer));

    const info: UpInfo = {
      redis: embedded
        ? {
            url: config.roles.queue.display,
            embedded: true,
            pid: embedded.pid,
            port: embedded.port,
            dataDir: embedded.dataDir,
            passwordFile: embedded.passwordFile,
            adopted: embedded.adopted,
            version: embedded.version,
          }
        : { url: config.roles.queue.display, embedded: false },
      queues: options.queues,
      workers: { count: options.workers, concurrency: options.concurrency, pids: children.map((c) => c.proc?.pid ?? 0) },
      scheduler: schedulerState,
      nextRuns: schedulerState === 'running' ? nextRuns(config) : [],
    };

    // --- stopping ------------------------------------------------------------------------------
    let resolveDone!: (code: number) => void;
    const done = new Promise<number>((r) => (resolveDone = r));
    let finishing: Promise<number> | undefined;
    const finish = (exitCode: number, why: string): Promise<number> => {
      finishing ??= (async () => {
        stopping = true;
        log({ event: 'stopping', msg: why });
        await cleanup();
        log({ event: 'stopped', exitCode: hard ? ExitCode.interrupted : exitCode });
        const code = hard ? ExitCode.interrupted : exitCode;
        resolveDone(code);
        return code;
      })();
      return finishing;
    };
    if (embedded) {
      const e = embedded;
      void e.exited.then(() => {
        if (stopping) return;
        log({ level: 'error', event: 'redis-exited', pid: e.pid, msg: `the embedded redis-server exited unexpectedly; see ${e.logFile}` });
        void finish(ExitCode.unreachable, 'the embedded redis-server is gone');
      });
    }
    void poll();

    return {
      info,
      status: () => status,
      done,
      close() {
        if (finishing) {
          // Second Ctrl-C: the workers get their second signal and exit at once (130).
          hard = true;
          for (const c of children) c.proc?.kill('SIGTERM');
          return finishing;
        }
        return finish(0, 'stopping: workers finish their running jobs (Ctrl-C again to stop at once)');
      },
    };
  } catch (e) {
    // Nothing half-started stays behind: workers, clients, the embedded server.
    await cleanup();
    throw e;
  }
}
