import type { Queue } from 'bullmq';
import { withRedisUrl, type Config } from '../config/resolve.js';
import { sameServer } from '../config/endpoints.js';
import { ExitCode } from '../errors.js';
import { openQueue } from '../queue/queues.js';
import { closeClient, connectRole, type RedisClient } from '../redis/connect.js';
import { planEntries } from '../schedule/entries.js';
import { nextRuns } from '../schedule/timing.js';
import { startEmbeddedRedis, type EmbeddedRedis } from './embedded-redis.js';
import type { EventLog } from './events.js';
import type { DashboardOptions } from '../dashboard/options.js';
import { StatusPoller, type UpStatus } from './up/status-poller.js';
import { WorkerPool } from './up/worker-pool.js';

export type { UpStatus } from './up/status-poller.js';

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
  /** The dashboard on 127.0.0.1 (docs/dashboard.md); `port` is the first one tried. Omitted: none. */
  dashboard?: DashboardOptions & { rqctlVersion: string };
}

export interface UpInfo {
  redis: { url: string; embedded: boolean; pid?: number; port?: number; dataDir?: string; passwordFile?: string; adopted?: boolean; version?: string };
  queues: string[];
  workers: { count: number; concurrency: number; pids: number[] };
  scheduler: 'running' | 'disabled' | 'unavailable';
  nextRuns: { name: string; next: string }[];
  /** The dashboard's URL; null when it is off or could not start. */
  dashboard: { url: string } | null;
}

export interface RunningUp {
  info: UpInfo;
  status(): UpStatus;
  /** First call: graceful (workers finish their jobs). A second call while stopping: at once. */
  close(): Promise<number>;
  /** Resolves with the exit code once everything has stopped (after close(), or a fatal failure). */
  done: Promise<number>;
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

/** The next run of each schedule entry (cron in its timezone, or `every`), as UTC ISO times. */
export function nextRunOfEachEntry(config: Config, now = new Date()): { name: string; next: string }[] {
  return planEntries(config.schedule).map((e) => {
    const [next] = nextRuns(e, now, 1);
    return { name: e.name, next: next ? next.toISOString() : '?' };
  });
}

/** What `up` has started so far; stopped in reverse order, so nothing half-started stays behind. */
class StartedParts {
  private readonly closers: (() => Promise<void>)[] = [];

  add(close: () => Promise<void>): void {
    this.closers.push(close);
  }

  async closeAll(): Promise<void> {
    for (const close of this.closers.splice(0).reverse()) await close().catch(() => {});
  }
}

export async function startUp(baseConfig: Config, options: UpOptions): Promise<RunningUp> {
  const started = new StartedParts();
  try {
    const embedded = baseConfig.sources.redisConfigured ? undefined : await startEmbedded(options, started);
    const config = embedded ? withRedisUrl(baseConfig, embedded.url, embedded.password) : baseConfig;
    const { queues, cacheClient } = await openStatusClients(config, options.queues, started);
    const pool = new WorkerPool({
      cwd: options.cwd,
      count: options.workers,
      concurrency: options.concurrency,
      queues: options.queues,
      command: options.workerCommand,
      embedded,
      log: options.log,
    });
    pool.start();
    started.add(() => pool.close());
    const scheduler = await startSchedulerIfWanted(config, options, started);
    const poller = new StatusPoller({ queues, cacheClient, pool, intervalMs: options.statusIntervalMs, onStatus: options.onStatus });
    started.add(async () => poller.close());
    const dashboard = await startDashboardIfWanted(config, options, started);
    const info = { ...upInfo(config, options, embedded, pool, scheduler), dashboard };
    const stop = new UpStop(pool, started, options.log);
    if (embedded) stop.onEmbeddedExit(embedded);
    poller.start();
    return { info, status: () => poller.current, done: stop.done, close: () => stop.close() };
  } catch (e) {
    await started.closeAll();
    throw e;
  }
}

async function startEmbedded(options: UpOptions, started: StartedParts): Promise<EmbeddedRedis> {
  const embedded = await startEmbeddedRedis({
    stateDir: `${options.cwd}/.rqctl`,
    preferredPort: options.embedded?.preferredPort,
    searchPath: options.embedded?.searchPath,
    log: options.log,
  });
  started.add(() => embedded.close());
  return embedded;
}

/** The status view's clients: the queues' counts, and the cache's size when it has a DB of its own. */
async function openStatusClients(config: Config, queueNames: string[], started: StartedParts): Promise<{ queues: Queue[]; cacheClient?: RedisClient }> {
  // Reachable at all? A clear exit 3 now beats workers that retry forever.
  const queueClient = await connectRole(config, 'queue', { use: 'worker', connectionName: 'rqctl:up' });
  queueClient.on('error', () => {});
  started.add(() => closeClient(queueClient));
  const sharedCacheDb = sameServer(config.roles.cache, config.roles.queue) && config.roles.cache.db === config.roles.queue.db;
  let cacheClient: RedisClient | undefined;
  if (!sharedCacheDb) {
    cacheClient = await connectRole(config, 'cache', { use: 'worker', connectionName: 'rqctl:up' }).catch(() => undefined);
    if (cacheClient) {
      cacheClient.on('error', () => {});
      const c = cacheClient;
      started.add(() => closeClient(c));
    }
  }
  const queues = queueNames.map((name) => openQueue(config, name, queueClient));
  started.add(async () => {
    await Promise.all(queues.map((q) => q.close().catch(() => {})));
  });
  return { queues, cacheClient };
}

async function startSchedulerIfWanted(config: Config, options: UpOptions, started: StartedParts): Promise<UpInfo['scheduler']> {
  if (!options.scheduler) return 'disabled';
  const start = options.startScheduler === undefined ? await lookupScheduler() : options.startScheduler;
  if (!start) {
    options.log({
      level: 'warn',
      event: 'scheduler-unavailable',
      msg: 'this build has no scheduler; run the schedule elsewhere (`rqctl scheduler`) or update rqctl',
    });
    return 'unavailable';
  }
  const scheduler = await start(config, { log: options.log });
  started.add(async () => {
    await scheduler.close();
  });
  return 'running';
}

/** The dashboard, on the next free port from the one asked for; `up` goes on without it if none is free. */
async function startDashboardIfWanted(config: Config, options: UpOptions, started: StartedParts): Promise<UpInfo['dashboard']> {
  if (!options.dashboard) return null;
  const { DashboardServer } = await import('../dashboard/server.js');
  const server = new DashboardServer(config, { ...options.dashboard, log: options.log, portAttempts: 20 });
  try {
    const { url } = await server.start();
    started.add(() => server.close());
    return { url };
  } catch (e) {
    await server.close().catch(() => {});
    options.log({ level: 'warn', event: 'dashboard-unavailable', msg: `no dashboard: ${(e as Error).message}` });
    return null;
  }
}

function upInfo(
  config: Config,
  options: UpOptions,
  embedded: EmbeddedRedis | undefined,
  pool: WorkerPool,
  scheduler: UpInfo['scheduler'],
): Omit<UpInfo, 'dashboard'> {
  const url = config.roles.queue.display;
  return {
    redis: embedded
      ? {
          url,
          embedded: true,
          pid: embedded.pid,
          port: embedded.port,
          dataDir: embedded.dataDir,
          passwordFile: embedded.passwordFile,
          adopted: embedded.adopted,
          version: embedded.version,
        }
      : { url, embedded: false },
    queues: options.queues,
    workers: { count: options.workers, concurrency: options.concurrency, pids: pool.pids },
    scheduler,
    nextRuns: scheduler === 'running' ? nextRunOfEachEntry(config) : [],
  };
}

/**
 * Stopping `up`, once: the workers first (they finish their running jobs), Redis last. A second
 * close() while stopping signals the workers again, and they exit at once (130).
 */
class UpStop {
  readonly done: Promise<number>;
  private resolveDone!: (code: number) => void;
  private stopping = false;
  private hard = false;
  private finishing: Promise<number> | undefined;

  constructor(
    private readonly pool: WorkerPool,
    private readonly started: StartedParts,
    private readonly log: EventLog,
  ) {
    this.done = new Promise<number>((r) => (this.resolveDone = r));
  }

  close(): Promise<number> {
    if (this.finishing) {
      // Second Ctrl-C: the workers get their second signal and exit at once (130).
      this.hard = true;
      this.pool.signal();
      return this.finishing;
    }
    return this.finish(0, 'stopping: workers finish their running jobs (Ctrl-C again to stop at once)');
  }

  /** The embedded server going away ends `up` with exit 3 (unless it is stopping anyway). */
  onEmbeddedExit(embedded: EmbeddedRedis): void {
    void embedded.exited.then(() => {
      if (this.stopping) return;
      this.log({ level: 'error', event: 'redis-exited', pid: embedded.pid, msg: `the embedded redis-server exited unexpectedly; see ${embedded.logFile}` });
      void this.finish(ExitCode.unreachable, 'the embedded redis-server is gone');
    });
  }

  private finish(exitCode: number, why: string): Promise<number> {
    this.finishing ??= this.stopAll(exitCode, why);
    return this.finishing;
  }

  private async stopAll(exitCode: number, why: string): Promise<number> {
    this.stopping = true;
    this.pool.halt();
    this.log({ event: 'stopping', msg: why });
    await this.started.closeAll();
    const code = this.hard ? ExitCode.interrupted : exitCode;
    this.log({ event: 'stopped', exitCode: code });
    this.resolveDone(code);
    return code;
  }
}
