import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Worker } from 'bullmq';
import type { Config } from '../config/resolve.js';
import { jobTypes } from '../jobs/registry.js';
import { ProviderLimits } from '../limits/provider-limits.js';
import { CounterStore } from '../metrics/counter-store.js';
import type { EventLog } from './events.js';
import { ControlLoop } from './worker/control-loop.js';
import { startConsumers } from './worker/consumers.js';
import { JobDeadlines } from './worker/deadline.js';
import { WorkerHeartbeat } from './worker/heartbeat.js';
import { JobRunner } from './worker/job-runner.js';
import { connectWorker, type WorkerRedis } from './worker/redis.js';
import { RunningJobs } from './worker/running-jobs.js';
import { WriteRefusals } from './worker/refusals.js';
import {
  validateWorkerSettings,
  type RunningWorker,
  type StopReason,
  type StopSwitch,
  type WorkerIdentity,
  type WorkerSettings,
  type WorkerStats,
  type WorkerStop,
} from './worker/settings.js';
import { shutDown, type ShutdownParts } from './worker/shutdown.js';
import { Slots } from './worker/slots.js';

// One worker process (docs/worker.md); its settings are documented on WorkerSettings. Its parts live
// in src/runtime/worker/: the BullMQ Workers (consumers.ts), the runner every job goes through
// (job-runner.ts), the jobs tracked until BullMQ records their outcome (running-jobs.ts), their
// deadlines (deadline.ts), the once-a-second control loop (control-loop.ts, heartbeat.ts) and the
// shutdown sequence (shutdown.ts).

export type { RunningWorker, WorkerSettings } from './worker/settings.js';

export async function startWorker(config: Config, settings: WorkerSettings, log: EventLog): Promise<RunningWorker> {
  validateWorkerSettings(settings);
  const host = hostname();
  const identity: WorkerIdentity = { id: `${host}:${process.pid}:${randomBytes(3).toString('hex')}`, name: settings.name ?? `${host}:${process.pid}`, host };
  const { redis, restartBaseline } = await connectWorker(config, identity.name, log);
  const worker = new WorkerProcess(config, settings, identity, redis, restartBaseline, log);
  await worker.start();
  log({
    event: 'started',
    msg: `worker ${identity.name} on ${settings.queues.join(', ')}`,
    name: identity.name,
    id: identity.id,
    pid: process.pid,
    queues: settings.queues,
    concurrency: settings.concurrency,
    redis: config.roles.queue.display,
    jobTypes: jobTypes().length,
  });
  return {
    id: identity.id,
    name: identity.name,
    stopped: worker.stopped,
    close: (reason = 'signal', message = 'stop requested') => worker.close(reason, message),
    stats: () => ({ ...worker.stats }),
  };
}

/** The parts of one worker, wired together; it decides when to stop, once, for whichever reason comes first. */
class WorkerProcess implements StopSwitch {
  readonly stats: WorkerStats = { jobsDone: 0, jobsFailed: 0, running: 0, started: 0 };
  readonly stopped: Promise<WorkerStop>;
  private resolveStopped!: (s: WorkerStop) => void;
  private stopRequested = false;
  private stopResult: Promise<WorkerStop> | undefined;
  private readonly control: ControlLoop;
  private readonly counters: CounterStore | undefined;
  private readonly parts: ShutdownParts;

  constructor(config: Config, settings: WorkerSettings, identity: WorkerIdentity, redis: WorkerRedis, restartBaseline: string | null, log: EventLog) {
    this.stopped = new Promise<WorkerStop>((r) => (this.resolveStopped = r));
    const stats = this.stats;
    const jobs = new RunningJobs(log);
    const slots = new Slots(settings.concurrency);
    const heartbeat = new WorkerHeartbeat(config, redis.queue, identity, settings, stats, log);
    let consumers: Worker[] = [];
    const refusals = new WriteRefusals({
      client: redis.queue,
      probeKey: `${config.queue.prefix}:${settings.queues[0]}:rqctl-write-probe`,
      where: `Redis at ${config.roles.queue.display} (queue role)`,
      consumers: () => consumers,
      progress: () => stats.jobsDone + stats.jobsFailed,
      log,
      stop: this,
    });
    const control = new ControlLoop({ config, settings, client: redis.queue, stats, jobs, heartbeat, stop: this, restartBaseline, refusals });
    const deadlines = new JobDeadlines(settings, jobs, log, this);
    const counters = config.metrics.counters ? workerCounters(config, settings, redis, log) : undefined;
    const limits = new ProviderLimits(config, redis.queue);
    const runner = new JobRunner({ config, settings, redis, limits, log, stats, slots, jobs, deadlines, control, stop: this, counters });
    consumers = startConsumers({ config, settings, name: identity.name, queueClient: redis.queue, runner, jobs, log, refusals });
    this.control = control;
    this.counters = counters;
    this.parts = { log, stats, slots, jobs, control, heartbeat, consumers, redis, counters, refusals };
  }

  get stopping(): boolean {
    return this.stopRequested;
  }

  start(): Promise<void> {
    this.counters?.start();
    return this.control.start();
  }

  requestStop(reason: StopReason, message: string): void {
    if (this.stopRequested) return;
    this.stopRequested = true;
    this.stopResult = shutDown(this.parts, reason, message).then((result) => {
      this.resolveStopped(result);
      return result;
    });
  }

  close(reason: StopReason, message: string): Promise<WorkerStop> {
    this.requestStop(reason, message);
    return this.stopResult!;
  }
}

/** The worker's counters for `rqctl metrics` (docs/metrics.md), kept in the queue role. */
function workerCounters(config: Config, settings: WorkerSettings, redis: WorkerRedis, log: EventLog): CounterStore {
  return new CounterStore({
    client: redis.queue,
    queuePrefix: config.queue.prefix,
    queues: settings.queues,
    jobNames: jobTypes().map((t) => t.name),
    onError: (e) => log({ level: 'debug', event: 'metrics-flush-failed', error: e.message }),
  });
}
