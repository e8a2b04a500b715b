import { MetricsTime, Worker, type ConnectionOptions } from 'bullmq';
import type { Config } from '../../config/resolve.js';
import { queueConnection } from '../../queue/queues.js';
import type { RedisClient } from '../../redis/connect.js';
import type { EventLog } from '../events.js';
import type { JobRunner } from './job-runner.js';
import { throttledErrorLog } from './logging.js';
import { keepBullmqPendingInList } from './pending-promises.js';
import type { RunningJobs } from './running-jobs.js';
import type { WriteRefusals } from './refusals.js';
import type { WorkerSettings } from './settings.js';

export interface ConsumerContext {
  config: Config;
  settings: WorkerSettings;
  /** The worker's name: BullMQ stores it on the jobs it takes. */
  name: string;
  /** The worker's queue-role client: on a cluster BullMQ shares it, elsewhere each Worker opens its own. */
  queueClient: RedisClient;
  runner: JobRunner;
  jobs: RunningJobs;
  log: EventLog;
  /** Refused writes (READONLY, NOPERM) come as BullMQ `error` events: they decide whether to exit 3. */
  refusals: WriteRefusals;
}

/** One BullMQ Worker per queue, all feeding the one runner. They start taking jobs at once. */
export function startConsumers(ctx: ConsumerContext): Worker[] {
  const { config } = ctx;
  // BullMQ's in-flight Set costs garbage collection per job (see pending-promises.ts).
  keepBullmqPendingInList();
  // Own connections per BullMQ Worker (options); a cluster needs the open client, which BullMQ shares.
  const connection = queueConnection(config, 'worker', config.roles.queue.kind === 'cluster' ? ctx.queueClient : undefined);
  return ctx.settings.queues.map((queue) => startConsumer(ctx, queue, connection));
}

function startConsumer(ctx: ConsumerContext, queue: string, connection: ConnectionOptions): Worker {
  const { config, settings, runner, jobs, log } = ctx;
  const w = new Worker(queue, runner.processorFor(queue), {
    connection,
    prefix: config.queue.prefix,
    concurrency: settings.concurrency,
    drainDelay: settings.sleep,
    // BullMQ's defaults (30 s); configurable for tests that crash workers on purpose.
    lockDuration: config.worker.lockDurationMs,
    stalledInterval: config.worker.stalledIntervalMs,
    name: ctx.name,
    // For jobs added without their own retention (foreign producers): the configured one.
    removeOnComplete: { age: config.queue.keepCompleted.age, count: config.queue.keepCompleted.count },
    removeOnFail: { age: config.queue.keepFailed.age, count: config.queue.keepFailed.count },
    // BullMQ's per-minute completed/failed counts, two weeks of them (the dashboard's charts). Costs
    // a few Redis calls inside the script that finishes each job (an HINCRBY, and an LPUSH + LTRIM
    // once a minute), no extra round trip.
    metrics: { maxDataPoints: MetricsTime.TWO_WEEKS },
  });
  w.on('completed', (job) => runner.completed(job, queue));
  w.on('failed', (job, err) => runner.failed(job, err, queue));
  w.on('lockRenewalFailed', (ids: string[]) => jobs.lockLost(queue, ids));
  w.on('stalled', (jobId) =>
    log({ level: 'warn', event: 'stalled', queue, id: jobId, msg: `job #${jobId} stalled (its worker died or lost the lock): moved back to wait` }),
  );
  const logError = throttledErrorLog(log, queue);
  w.on('error', (e) => {
    if (!ctx.refusals.noteError(e)) logError(e);
  });
  return w;
}
