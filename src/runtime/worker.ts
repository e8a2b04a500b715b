import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { UnrecoverableError, WaitingError, Worker, type Job, type Queue } from 'bullmq';
import type { Config } from '../config/resolve.js';
import { ExitCode, RqctlError, usageError } from '../errors.js';
import { findJobType, jobTypes } from '../jobs/registry.js';
import type { JobContext, JobType } from '../jobs/types.js';
import { openQueue, queueConnection } from '../queue/queues.js';
import { closeClient, connectRole, createClient } from '../redis/connect.js';
import type { EventLog } from './events.js';
import { formatIssues, Slots, throttledErrorLog, watchConnection, withTimeout } from './worker-support.js';
import { HEARTBEAT_INTERVAL_MS, RESERVED_QUEUE_NAME, readRestart, removeHeartbeat, writeHeartbeat, type WorkerRecord } from './worker-registry.js';

/**
 * One worker process (docs/worker.md): BullMQ Workers on the queue role, one per queue, sharing one
 * process-wide concurrency limit, with the old `queue:work` knobs mapped onto BullMQ honestly.
 *
 * Defaults a job does not set itself, applied when the job is processed (BullMQ decides retries in
 * the worker, from the job's own `opts.attempts` / `opts.backoff`):
 *   attempts: the job's opts.attempts (set at dispatch) > its type's `tries` > `--tries`
 *   backoff:  the job's opts.backoff > its type's `backoff` > `--backoff` (fixed, seconds)
 *   timeout:  the type's `timeout`, capped by `--timeout` (the worker's flag is the ceiling that
 *             supervisord's stopwaitsecs is computed from, so a type can only ask for less)
 */
export interface WorkerSettings {
  queues: string[];
  /** Jobs at a time in this process, across all its queues. */
  concurrency: number;
  /** Attempts for jobs that set none. */
  tries: number;
  /** Fixed backoff between attempts, seconds, for jobs that set none. */
  backoff: number;
  /** Seconds before a job's AbortSignal fires and the job fails with "timed out after S s". */
  timeout: number;
  /** Seconds a timed-out job may take to honour its signal before the process must exit non-zero. */
  grace: number;
  /** Stop taking jobs after this many seconds (0 = never). */
  maxTime: number;
  /** Stop taking jobs after this many (0 = no limit). */
  maxJobs: number;
  /** Stop taking jobs once the process' RSS exceeds this many MB (0 = no limit). */
  memoryMb: number;
  /** Stop once every queue is empty and nothing runs. */
  stopWhenEmpty: boolean;
  /** Seconds one blocking wait for a job lasts when the queues are empty (BullMQ drainDelay). */
  sleep: number;
  name?: string;
  /** rqctl's version, for `rqctl workers`. */
  version?: string;
}

export type StopReason = 'signal' | 'max-time' | 'max-jobs' | 'memory' | 'empty' | 'restart' | 'stuck-job';

export interface WorkerStop {
  reason: StopReason;
  /** What the process should exit with: 0, or 1 when a job ignored its timeout (supervisord restarts it). */
  exitCode: number;
  message: string;
  /** BullMQ did not close in time and its connections were dropped: it may still hold the event loop. */
  forced?: boolean;
}

export interface WorkerStats {
  jobsDone: number;
  jobsFailed: number;
  running: number;
  started: number;
}

export interface RunningWorker {
  id: string;
  name: string;
  /** Resolves once the worker has stopped by itself (max-jobs, restart, a stuck job…) or by `close()`. */
  readonly stopped: Promise<WorkerStop>;
  /** Graceful: stop taking jobs, let running ones finish (each within its timeout), close connections. */
  close(reason?: StopReason, message?: string): Promise<WorkerStop>;
  stats(): WorkerStats;
}

/** How often the worker looks at the restart key, its memory and its queues. */
const CONTROL_INTERVAL_MS = 1000;

/** Errors BullMQ uses for control flow: a processor throws them on purpose, they are not failures. */
const CONTROL_ERRORS = new Set(['WaitingError', 'WaitingChildrenError', 'DelayedError', 'RateLimitError']);

interface Tracked {
  job: Job;
  queue: string;
  stuck: boolean;
  /** When the processor returned; the entry stays until BullMQ has recorded the outcome (its completed/failed event). */
  returnedAt?: number;
  /** Aborts the job's signal (made when the job first asks for it, see runJob). */
  abort?: (reason: unknown) => void;
}

/** How long BullMQ may take to close once every job has returned. */
const CLOSE_MS = 5_000;

/** An outcome BullMQ never reported (a lost lock) stops counting after this long. */
const SETTLE_MS = 15_000;

function validateSettings(s: WorkerSettings): void {
  if (!s.queues.length) throw usageError('--queue needs at least one queue name');
  for (const q of s.queues) {
    if (q === RESERVED_QUEUE_NAME) throw usageError(`the queue name "${RESERVED_QUEUE_NAME}" is reserved for rqctl's own keys`);
    if (!/^[^\s:]+$/.test(q)) throw usageError(`invalid queue name "${q}" (no spaces or colons)`);
  }
  if (new Set(s.queues).size !== s.queues.length) throw usageError(`--queue lists a queue twice: ${s.queues.join(',')}`);
  if (s.concurrency < 1) throw usageError('--concurrency must be at least 1');
  if (s.timeout <= 0) throw usageError('--timeout must be at least 1 second');
  if (s.sleep <= 0) throw usageError('--sleep must be more than 0 seconds');
}

export async function startWorker(config: Config, settings: WorkerSettings, log: EventLog): Promise<RunningWorker> {
  validateSettings(settings);
  const host = hostname();
  const id = `${host}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const name = settings.name ?? `${host}:${process.pid}`;

  // The control client (heartbeat, restart key, jobs' queue-role access) must reach Redis now: a
  // worker that cannot is misconfigured, and exit 3 tells supervisord's operator why.
  const queueClient = await connectRole(config, 'queue', { use: 'worker', connectionName: `rqctl:worker:${name}` });
  // The cache is only needed by jobs that write it: connect in the background, so a cache outage
  // does not stop e-mails from going out.
  const cacheClient = createClient(config.roles.cache, { use: 'worker', timeoutMs: config.redis.connectTimeoutMs, connectionName: `rqctl:worker:${name}` });
  watchConnection(queueClient, 'queue', log);
  watchConnection(cacheClient, 'cache', log);
  cacheClient.connect().catch(() => {});

  let restartBaseline: string | null;
  try {
    restartBaseline = await readRestart(config, queueClient);
  } catch (e) {
    await Promise.all([closeClient(queueClient), closeClient(cacheClient)]);
    throw new RqctlError('REDIS_ERROR', ExitCode.unreachable, `cannot read rqctl's control keys in the queue role: ${(e as Error).message}`, { cause: e });
  }

  const startedAt = Date.now();
  const stats: WorkerStats = { jobsDone: 0, jobsFailed: 0, running: 0, started: 0 };
  const tracked = new Map<Job, Tracked>();
  const startTimes = new WeakMap<Job, number>();
  const slots = new Slots(settings.concurrency);
  let stopping: { reason: StopReason; message: string } | undefined;
  let stopResult: Promise<WorkerStop> | undefined;
  let resolveStopped!: (s: WorkerStop) => void;
  const stopped = new Promise<WorkerStop>((r) => (resolveStopped = r));
  const timers: NodeJS.Timeout[] = [];

  const record = (): WorkerRecord => ({
    id,
    name,
    host,
    pid: process.pid,
    queues: settings.queues,
    concurrency: settings.concurrency,
    started: new Date(startedAt).toISOString(),
    jobsDone: stats.jobsDone,
    jobsFailed: stats.jobsFailed,
    running: stats.running,
    lastSeen: new Date().toISOString(),
    version: settings.version,
  });
  // Written every HEARTBEAT_INTERVAL_MS, and within a second of a change (a job started or ended),
  // so `rqctl workers` is never more than about a second behind.
  let beat = { at: 0, of: '' };
  const heartbeat = async (force = false) => {
    const of = `${stats.jobsDone}/${stats.jobsFailed}/${stats.running}`;
    const now = Date.now();
    if (!force && of === beat.of && now - beat.at < HEARTBEAT_INTERVAL_MS) return;
    try {
      await writeHeartbeat(config, queueClient, record());
      beat = { at: now, of };
    } catch (e) {
      log({ level: 'debug', event: 'heartbeat-failed', error: (e as Error).message });
    }
  };

  const jobFields = (job: Job, queue: string) => ({ msg: `${job.name} #${job.id}`, queue, job: job.name, id: job.id });

  /** Returns a job this worker will not run to its queue, at the front (it was next in line). */
  const giveBack = async (job: Job, token: string | undefined): Promise<never> => {
    await job.moveToWait(token);
    throw new WaitingError('returned to the queue: the worker is stopping');
  };

  const settle = (t: Tracked) => {
    tracked.delete(t.job);
  };
  /** Drops entries whose outcome BullMQ never reported (a timer per job would cost throughput). */
  const sweep = () => {
    const now = Date.now();
    for (const t of tracked.values()) if (t.returnedAt !== undefined && now - t.returnedAt > SETTLE_MS) tracked.delete(t.job);
  };

  const runJob = async (job: Job, queue: string, t: Tracked): Promise<unknown> => {
    const type: JobType<any> | undefined = findJobType(job.name);
    startTimes.set(job, performance.now());
    log({ event: 'processing', ...jobFields(job, queue), attempt: job.attemptsMade + 1 });
    if (!type) {
      const known = jobTypes().map((x) => x.name);
      throw new UnrecoverableError(`unknown job "${job.name}": this worker knows ${known.length ? known.join(', ') : 'no job types'}`);
    }
    // Defaults for jobs that set none (see the comment at the top): BullMQ reads these from the job
    // object when it decides whether to retry.
    if (!job.opts.attempts) job.opts.attempts = type.tries ?? settings.tries;
    if (!job.opts.backoff) job.opts.backoff = { type: 'fixed', delay: (type.backoff ?? settings.backoff) * 1000 };

    const parsed = type.schema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid payload for ${job.name}: ${formatIssues(parsed.error)}`);

    const timeoutS = Math.min(type.timeout ?? settings.timeout, settings.timeout);
    // The job's AbortSignal is made when the job first asks for it. A job that never looks at it
    // cannot honour it either, and an AbortController costs ~10 µs of CPU on Node 20 (profiled:
    // createAbortSignal was the largest cost rqctl's worker added per no-op job, bench worker-c50).
    let controller: AbortController | undefined;
    let pendingReason: unknown;
    const abort = (reason: unknown) => {
      if (controller) controller.abort(reason);
      else pendingReason ??= reason;
    };
    t.abort = abort;
    const ctx: JobContext = {
      config,
      get signal() {
        if (!controller) {
          controller = new AbortController();
          if (pendingReason !== undefined) controller.abort(pendingReason);
        }
        return controller.signal;
      },
      job,
      redis: { queue: queueClient, cache: cacheClient },
      log: (event, fields) => log({ event, ...jobFields(job, queue), ...fields }),
    };
    let timedOut = false;
    let graceTimer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      abort(Object.assign(new Error(`timed out after ${timeoutS} s`), { name: 'TimeoutError' }));
      log({ level: 'warn', event: 'timeout', ...jobFields(job, queue), timeoutS, msg: `${job.name} #${job.id} timed out after ${timeoutS} s; aborting it` });
      graceTimer = setTimeout(() => {
        // The job ignored its signal: it keeps its lock until this process exits, then BullMQ
        // recovers it as stalled. Nothing else is taken meanwhile.
        t.stuck = true;
        log({
          level: 'error',
          event: 'stuck',
          ...jobFields(job, queue),
          msg: `${job.name} #${job.id} ignored its timeout for ${settings.grace} s; the worker stops and exits non-zero (the job is recovered as stalled)`,
        });
        requestStop('stuck-job', `${job.name} #${job.id} did not stop within ${settings.grace} s of its ${timeoutS} s timeout`);
      }, settings.grace * 1000);
    }, timeoutS * 1000);
    try {
      return await type.process(parsed.data, ctx);
    } catch (e) {
      const err = e as Error;
      if (timedOut && !CONTROL_ERRORS.has(err?.name) && !(err instanceof UnrecoverableError)) {
        throw Object.assign(new Error(`timed out after ${timeoutS} s`), { name: 'TimeoutError', cause: e });
      }
      throw e;
    } finally {
      clearTimeout(timer);
      if (graceTimer) clearTimeout(graceTimer);
    }
  };

  const processor = (queue: string) =>
    // Two parameters on purpose: BullMQ gives a processor that declares a third one an AbortController
    // of its own per job, which costs throughput; the job's signal is rqctl's (timeout, kill).
    async function processJob(job: Job, token?: string): Promise<unknown> {
      if (stopping) return giveBack(job, token);
      try {
        await slots.acquire();
      } catch {
        return giveBack(job, token);
      }
      if (stopping) {
        slots.release();
        return giveBack(job, token);
      }
      stats.started++;
      stats.running++;
      if (settings.maxJobs > 0 && stats.started >= settings.maxJobs) requestStop('max-jobs', `processed ${settings.maxJobs} jobs (--max-jobs)`);
      const t: Tracked = { job, queue, stuck: false };
      tracked.set(job, t);
      let control = false;
      try {
        return await runJob(job, queue, t);
      } catch (e) {
        control = CONTROL_ERRORS.has((e as Error)?.name);
        throw e;
      } finally {
        stats.running--;
        slots.release();
        // BullMQ records the outcome right after this returns and then emits completed/failed; a
        // flow parent waiting for its children emits nothing. `sweep` covers a lost lock.
        if (control) settle(t);
        else t.returnedAt = Date.now();
        if (settings.memoryMb > 0) checkMemory();
      }
    };

  // Own connections per BullMQ Worker (options); a cluster needs the open client, which BullMQ shares.
  const connection = queueConnection(config, 'worker', config.roles.queue.kind === 'cluster' ? queueClient : undefined);
  const workers: Worker[] = [];
  for (const queue of settings.queues) {
    const w = new Worker(queue, processor(queue), {
      connection,
      prefix: config.queue.prefix,
      concurrency: settings.concurrency,
      drainDelay: settings.sleep,
      // BullMQ's defaults (30 s); configurable for tests that crash workers on purpose.
      lockDuration: config.worker.lockDurationMs,
      stalledInterval: config.worker.stalledIntervalMs,
      name,
      // For jobs added without their own retention (foreign producers): the configured one.
      removeOnComplete: { age: config.queue.keepCompleted.age, count: config.queue.keepCompleted.count },
      removeOnFail: { age: config.queue.keepFailed.age, count: config.queue.keepFailed.count },
    });
    w.on('completed', (job) => {
      stats.jobsDone++;
      const t = tracked.get(job);
      if (t) settle(t);
      const t0 = startTimes.get(job);
      log({ event: 'processed', ...jobFields(job, queue), durationMs: t0 === undefined ? undefined : Math.round(performance.now() - t0) });
    });
    w.on('failed', (job, err) => {
      if (!job) {
        log({ level: 'error', event: 'failed', queue, error: err?.message });
        return;
      }
      stats.jobsFailed++;
      const t = tracked.get(job);
      if (t) settle(t);
      const t0 = startTimes.get(job);
      const attempts = job.opts.attempts || 1;
      const final = err?.name === 'UnrecoverableError' || err instanceof UnrecoverableError || job.attemptsMade >= attempts;
      log({
        level: final ? 'error' : 'warn',
        event: 'failed',
        ...jobFields(job, queue),
        durationMs: t0 === undefined ? undefined : Math.round(performance.now() - t0),
        attempt: job.attemptsMade,
        attempts,
        retry: !final,
        error: err?.message,
      });
    });

    // A running job's lock could not be renewed: it lapsed (Redis stalled or was away longer than
    // the lock) and another worker may already be running the job again. Tell this run to stop.
    w.on('lockRenewalFailed', (ids: string[]) => {
      for (const t of tracked.values()) {
        if (t.queue !== queue || t.returnedAt !== undefined || !ids.includes(String(t.job.id))) continue;
        log({
          level: 'warn',
          event: 'lock-lost',
          ...jobFields(t.job, queue),
          msg: `${t.job.name} #${t.job.id} lost its lock; aborting this run (the job runs again once recovered as stalled)`,
        });
        t.abort?.(Object.assign(new Error('lost the job lock: Redis was unreachable or stalled longer than the lock'), { name: 'LockLostError' }));
      }
    });
    w.on('stalled', (jobId) =>
      log({ level: 'warn', event: 'stalled', queue, id: jobId, msg: `job #${jobId} stalled (its worker died or lost the lock): moved back to wait` }),
    );
    w.on('error', throttledErrorLog(log, queue));
    workers.push(w);
  }

  let countQueues: Queue[] | undefined;
  const queuesEmpty = async () => {
    countQueues ??= settings.queues.map((q) => openQueue(config, q, queueClient));
    const counts = await Promise.all(countQueues.map((q) => q.getJobCounts('wait', 'prioritized')));
    return counts.every((c) => (c.wait ?? 0) + (c.prioritized ?? 0) === 0);
  };

  const checkMemory = () => {
    const rssMb = process.memoryUsage.rss() / 1024 / 1024;
    if (settings.memoryMb > 0 && rssMb > settings.memoryMb) requestStop('memory', `memory ${Math.round(rssMb)} MB exceeds --memory ${settings.memoryMb} MB`);
  };

  let controlBusy = false;
  let controlRun: Promise<void> | undefined;
  const control = async () => {
    if (controlBusy || stopping) return;
    controlBusy = true;
    try {
      sweep();
      await heartbeat();
      checkMemory();
      // Asked of Redis, not inferred from BullMQ's `drained` events: with concurrency > 1 they can
      // arrive out of order with `active`.
      if (settings.stopWhenEmpty && stats.running === 0 && tracked.size === 0 && (await queuesEmpty())) {
        requestStop('empty', 'the queues are empty (--stop-when-empty)');
      }
      const restart = await readRestart(config, queueClient);
      if (restart !== null && restart !== restartBaseline)
        requestStop('restart', `restart requested at ${new Date(Number(restart)).toISOString()} (rqctl worker restart)`);
    } catch {
      /* Redis unreachable: the connection watcher reports it; try again on the next tick */
    } finally {
      controlBusy = false;
    }
  };

  function requestStop(reason: StopReason, message: string): void {
    if (stopping) return;
    stopping = { reason, message };
    stopResult = shutdown();
  }

  const untilIdle = async () => {
    // Wait for every running job's processor to return. Jobs that ignored their timeout never do;
    // a job that returned but whose outcome BullMQ never reported (its completion was lost with a
    // dropped connection: the job is recovered as stalled later) is BullMQ's close()'s business,
    // not a reason to hold SIGTERM for SETTLE_MS (seen: a CLIENT KILL left a worker unable to stop
    // within supervisord's stopwaitsecs).
    for (;;) {
      sweep();
      if (![...tracked.values()].some((t) => !t.stuck && t.returnedAt === undefined)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  async function shutdown(): Promise<WorkerStop> {
    const { reason, message } = stopping!;
    for (const t of timers) clearInterval(t);
    slots.cancelWaiters();
    log({ event: 'stopping', reason, msg: message, running: stats.running });
    // close() stops fetching at once and resolves when the worker's jobs are done.
    const closes = workers.map((w) => w.close().catch(() => {}));
    await untilIdle();
    // A heartbeat written after the record is removed would bring the worker back for 30 s.
    await withTimeout(controlRun ?? Promise.resolve(), 2000).catch(() => {});
    const stuck = [...tracked.values()].filter((t) => t.stuck);
    if (stuck.length) {
      await withTimeout(removeHeartbeat(config, queueClient, id), 2000).catch(() => {});
      const result: WorkerStop = {
        reason: 'stuck-job',
        exitCode: 1,
        message: stopping!.reason === 'stuck-job' ? message : `${message}; a job ignored its timeout`,
      };
      log({
        level: 'error',
        event: 'stopped',
        reason: result.reason,
        msg: result.message,
        exitCode: result.exitCode,
        jobsDone: stats.jobsDone,
        jobsFailed: stats.jobsFailed,
      });
      resolveStopped(result);
      return result;
    }
    // During a Redis outage BullMQ's close can wait on a reconnect: bounded, then dropped.
    // Every job has returned by now, so BullMQ only has to record the last outcomes. After a
    // CLIENT KILL its close() and disconnect() can wait for a connection that is already gone,
    // forever (seen in the chaos suite): both are bounded, well inside supervisord's stopwaitsecs.
    const closed = await withTimeout(Promise.all(closes), CLOSE_MS).then(
      () => true,
      () => false,
    );
    if (!closed) {
      log({ level: 'warn', event: 'close-timeout', msg: `BullMQ did not close within ${CLOSE_MS / 1000} s; dropping its connections` });
      await withTimeout(Promise.all(workers.map((w) => w.disconnect().catch(() => {}))), 2000).catch(() => {});
    }
    await withTimeout(removeHeartbeat(config, queueClient, id), 2000).catch(() => {});
    await Promise.all((countQueues ?? []).map((q) => q.close().catch(() => {})));
    await Promise.all([closeClient(queueClient), closeClient(cacheClient)]);
    const result: WorkerStop = { reason, exitCode: 0, message, ...(closed ? {} : { forced: true }) };
    log({ event: 'stopped', reason, msg: message, exitCode: 0, jobsDone: stats.jobsDone, jobsFailed: stats.jobsFailed });
    resolveStopped(result);
    return result;
  }

  await heartbeat(true);
  timers.push(
    setInterval(() => {
      controlRun = control();
    }, CONTROL_INTERVAL_MS),
  );
  if (settings.maxTime > 0) timers.push(setTimeout(() => requestStop('max-time', `ran for ${settings.maxTime} s (--max-time)`), settings.maxTime * 1000));

  log({
    event: 'started',
    msg: `worker ${name} on ${settings.queues.join(', ')}`,
    name,
    id,
    pid: process.pid,
    queues: settings.queues,
    concurrency: settings.concurrency,
    redis: config.roles.queue.display,
    jobTypes: jobTypes().length,
  });

  return {
    id,
    name,
    stopped,
    close(reason = 'signal', message = 'stop requested') {
      requestStop(reason, message);
      return stopResult!;
    },
    stats: () => ({ ...stats }),
  };
}
