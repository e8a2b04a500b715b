import type { Worker } from 'bullmq';
import type { CounterStore } from '../../metrics/counter-store.js';
import { withTimeout } from '../../util/timeout.js';
import type { EventLog } from '../events.js';
import type { ControlLoop } from './control-loop.js';
import type { WorkerHeartbeat } from './heartbeat.js';
import { closeWorkerRedis, type WorkerRedis } from './redis.js';
import type { RunningJobs } from './running-jobs.js';
import type { WriteRefusals } from './refusals.js';
import { ExitCode } from '../../errors.js';
import type { StopReason, WorkerStats, WorkerStop } from './settings.js';
import type { Slots } from './slots.js';

/** How long BullMQ may take to close once every job has returned. */
const CLOSE_MS = 5_000;

/** Everything a stopping worker has to let go of. */
export interface ShutdownParts {
  log: EventLog;
  stats: WorkerStats;
  slots: Slots;
  jobs: RunningJobs;
  control: ControlLoop;
  heartbeat: WorkerHeartbeat;
  consumers: Worker[];
  redis: WorkerRedis;
  refusals: WriteRefusals;
  /** The metrics counters (absent with `metrics.counters: false`): their last counts go before the connections close. */
  counters?: CounterStore;
}

/**
 * A graceful stop: take nothing new, let running jobs finish (each within its timeout), leave
 * `rqctl workers`, close every connection. A job that ignored its timeout makes it exit 1 instead.
 */
export async function shutDown(parts: ShutdownParts, reason: StopReason, message: string): Promise<WorkerStop> {
  const { log, stats } = parts;
  parts.control.halt();
  parts.refusals.close();
  parts.slots.cancelWaiters();
  log({ event: 'stopping', reason, msg: message, running: stats.running });
  // close() stops fetching at once and resolves when the worker's jobs are done.
  const closes = parts.consumers.map((w) => w.close().catch(() => {}));
  await parts.jobs.untilIdle();
  // A heartbeat written after the record is removed would bring the worker back for 30 s.
  await parts.control.settled();
  if (parts.jobs.anyStuck()) return leaveStuck(parts, reason, message);
  const closed = await closeConsumers(parts, closes);
  await parts.counters?.close();
  await parts.heartbeat.remove();
  await parts.control.close();
  await closeWorkerRedis(parts.redis);
  // Refused writes are not a clean stop: exit 3 makes supervisord (FATAL) and deploy's verify see it.
  const exitCode = reason === 'refused' ? ExitCode.unreachable : 0;
  log({
    ...(exitCode ? { level: 'error' as const } : {}),
    event: 'stopped',
    reason,
    msg: message,
    exitCode,
    jobsDone: stats.jobsDone,
    jobsFailed: stats.jobsFailed,
  });
  return { reason, exitCode, message, ...(closed ? {} : { forced: true }) };
}

/**
 * A job ignored its timeout and still holds its lock: BullMQ cannot close while it runs. Only the
 * heartbeat goes; the process exits 1 and BullMQ recovers the job as stalled.
 */
async function leaveStuck(parts: ShutdownParts, reason: StopReason, message: string): Promise<WorkerStop> {
  const { log, stats } = parts;
  await parts.counters?.close();
  await parts.heartbeat.remove();
  const result: WorkerStop = { reason: 'stuck-job', exitCode: 1, message: reason === 'stuck-job' ? message : `${message}; a job ignored its timeout` };
  log({
    level: 'error',
    event: 'stopped',
    reason: result.reason,
    msg: result.message,
    exitCode: result.exitCode,
    jobsDone: stats.jobsDone,
    jobsFailed: stats.jobsFailed,
  });
  return result;
}

/**
 * Whether BullMQ closed in time. During a Redis outage its close can wait on a reconnect: bounded,
 * then its connections are dropped. Every job has returned by now, so BullMQ only has to record
 * the last outcomes. After a CLIENT KILL its close() and disconnect() can wait for a connection
 * that is already gone, forever (seen in the chaos suite): both are bounded, well inside
 * supervisord's stopwaitsecs.
 */
async function closeConsumers(parts: ShutdownParts, closes: Promise<unknown>[]): Promise<boolean> {
  const closed = await withTimeout(Promise.all(closes), CLOSE_MS).then(
    () => true,
    () => false,
  );
  if (!closed) {
    parts.log({ level: 'warn', event: 'close-timeout', msg: `BullMQ did not close within ${CLOSE_MS / 1000} s; dropping its connections` });
    await withTimeout(Promise.all(parts.consumers.map((w) => w.disconnect().catch(() => {}))), 2000).catch(() => {});
  }
  return closed;
}
