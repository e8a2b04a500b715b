import { performance } from 'node:perf_hooks';
import { UnrecoverableError, WaitingError, type Job } from 'bullmq';
import type { Config } from '../../config/resolve.js';
import { formatIssues } from '../../jobs/define.js';
import { findJobType, jobTypes } from '../../jobs/registry.js';
import type { JobContext, JobType } from '../../jobs/types.js';
import type { ProviderLimits } from '../../limits/provider-limits.js';
import type { CounterStore } from '../../metrics/counter-store.js';
import type { RedisClient } from '../../redis/connect.js';
import { JobDoneEvent, JobStartedEvent, type EventLog } from '../events.js';
import type { ControlLoop } from './control-loop.js';
import { CONTROL_ERRORS, type JobDeadlines } from './deadline.js';
import { jobFields } from './logging.js';
import type { RunningJob, RunningJobs } from './running-jobs.js';
import type { StopSwitch, WorkerSettings, WorkerStats } from './settings.js';
import type { Slots } from './slots.js';

export interface RunnerContext {
  config: Config;
  settings: WorkerSettings;
  redis: { queue: RedisClient; cache: RedisClient };
  limits: ProviderLimits;
  log: EventLog;
  stats: WorkerStats;
  slots: Slots;
  jobs: RunningJobs;
  deadlines: JobDeadlines;
  control: ControlLoop;
  stop: StopSwitch;
  /** Metrics counters (docs/metrics.md); undefined with `metrics.counters: false`. */
  counters?: CounterStore;
}

/** What every job of a worker shares (its JobContext reads these). */
interface SharedByJobs {
  readonly config: Config;
  readonly redis: JobContext['redis'];
  readonly log: EventLog;
  readonly counters?: CounterStore;
  readonly limits: ProviderLimits;
}

/** What BullMQ calls for each job of one queue. */
export type QueueProcessor = (job: Job, token?: string) => Promise<unknown>;

/** How long the job waited to start, ms: from when it was ready (added, plus its delay) to its start. */
function waitMs(job: Job): number | undefined {
  if (!job.processedOn || !job.timestamp) return undefined;
  return Math.max(0, job.processedOn - job.timestamp - (job.delay || 0));
}

/** Returns a job this worker will not run to its queue, at the front (it was next in line). */
async function giveBack(job: Job, token: string | undefined): Promise<never> {
  await job.moveToWait(token);
  throw new WaitingError('returned to the queue: the worker is stopping');
}

/**
 * Runs each job BullMQ hands over: a slot of the process-wide limit, the defaults a job did not set,
 * its payload checked, its deadline, and what the job sees (JobContext); then logs its outcome.
 * The per-job path: one RunningJob, one context and no other allocation of rqctl's own.
 */
export class JobRunner {
  private readonly config: Config;
  private readonly settings: WorkerSettings;
  private readonly redis: { queue: RedisClient; cache: RedisClient };
  private readonly log: EventLog;
  private readonly stats: WorkerStats;
  private readonly slots: Slots;
  private readonly jobs: RunningJobs;
  private readonly deadlines: JobDeadlines;
  private readonly control: ControlLoop;
  private readonly stop: StopSwitch;
  private readonly counters: CounterStore | undefined;
  private readonly shared: SharedByJobs;

  constructor(ctx: RunnerContext) {
    this.config = ctx.config;
    this.settings = ctx.settings;
    this.redis = ctx.redis;
    this.log = ctx.log;
    this.stats = ctx.stats;
    this.slots = ctx.slots;
    this.jobs = ctx.jobs;
    this.deadlines = ctx.deadlines;
    this.control = ctx.control;
    this.stop = ctx.stop;
    this.counters = ctx.counters;
    this.shared = { config: ctx.config, redis: ctx.redis, log: ctx.log, counters: ctx.counters, limits: ctx.limits };
  }

  processorFor(queue: string): QueueProcessor {
    // Two parameters on purpose: BullMQ gives a processor that declares a third one an AbortController
    // of its own per job, which costs throughput; the job's signal is rqctl's (timeout, kill).
    return (job, token) => this.process(job, token, queue);
  }

  /**
   * The slot, then the job (see run). Not an async function: a job that gets a slot at once (nearly
   * all of them) costs no frame of its own here.
   */
  process(job: Job, token: string | undefined, queue: string): Promise<unknown> {
    if (this.stop.stopping) return giveBack(job, token);
    if (!this.slots.tryAcquire()) return this.processWhenFree(job, token, queue);
    return this.run(job, queue);
  }

  /** Waits for a slot of the process-wide limit; gives the job back if the worker stops meanwhile. */
  private async processWhenFree(job: Job, token: string | undefined, queue: string): Promise<unknown> {
    try {
      await this.slots.acquire();
    } catch {
      return giveBack(job, token);
    }
    if (this.stop.stopping) {
      this.slots.release();
      return giveBack(job, token);
    }
    return this.run(job, queue);
  }

  /**
   * One job, holding a slot: `begin` (synchronous up to the job's own work), then its outcome. A
   * promise chain rather than an async function: an async frame with its try/finally cost ~500 bytes
   * per job (bench/own-path.mjs), the two handlers here a fraction of that.
   */
  private run(job: Job, queue: string): Promise<unknown> {
    const { stats, settings } = this;
    stats.started++;
    stats.running++;
    if (settings.maxJobs > 0 && stats.started >= settings.maxJobs) this.stop.requestStop('max-jobs', `processed ${settings.maxJobs} jobs (--max-jobs)`);
    const t = this.jobs.add(job, queue);
    let work: unknown;
    try {
      work = this.begin(t);
    } catch (e) {
      return Promise.reject(this.failure(t, e));
    }
    return (work instanceof Promise ? work : Promise.resolve(work)).then(
      (value) => {
        this.finish(t, false);
        return value;
      },
      (e) => {
        throw this.failure(t, e);
      },
    );
  }

  /** What a failed run rejects with (a timeout says so), once its bookkeeping is done. */
  private failure(t: RunningJob, e: unknown): unknown {
    const failure = this.deadlines.failure(t, e);
    this.finish(t, CONTROL_ERRORS.has((e as Error)?.name));
    return failure;
  }

  /** The job's own work is over: its deadline, the slot, and its entry until BullMQ reports the outcome. */
  private finish(t: RunningJob, control: boolean): void {
    this.deadlines.disarm(t);
    this.stats.running--;
    this.slots.release();
    this.jobs.returned(t, control);
    if (this.settings.memoryMb > 0) this.control.memoryAfterJob();
  }

  /** BullMQ recorded the job as completed. */
  completed(job: Job, queue: string): void {
    this.stats.jobsDone++;
    const durationMs = this.jobs.settle(job);
    this.counters?.completed(queue, job.name, durationMs, waitMs(job));
    this.log(new JobDoneEvent(queue, job.name, job.id, durationMs));
  }

  /** BullMQ recorded a failed attempt (`job` is missing when BullMQ could not even read it). */
  failed(job: Job | undefined, err: Error, queue: string): void {
    if (!job) {
      this.log({ level: 'error', event: 'failed', queue, error: err?.message });
      return;
    }
    this.stats.jobsFailed++;
    const durationMs = this.jobs.settle(job);
    this.counters?.failed(queue, job.name, durationMs, waitMs(job));
    const attempts = job.opts.attempts || 1;
    const final = err?.name === 'UnrecoverableError' || err instanceof UnrecoverableError || job.attemptsMade >= attempts;
    this.log({
      level: final ? 'error' : 'warn',
      event: 'failed',
      ...jobFields(job, queue),
      durationMs,
      attempt: job.attemptsMade,
      attempts,
      retry: !final,
      error: err?.message,
    });
  }

  /** Starts the job's own work: its type, the defaults it did not set, its payload, its deadline. Throws what fails the job before it runs. */
  private begin(t: RunningJob): Promise<unknown> {
    const { job, queue } = t;
    const { settings } = this;
    const type: JobType<any> | undefined = findJobType(job.name);
    t.startedAt = performance.now();
    this.log(new JobStartedEvent(queue, job.name, job.id, job.attemptsMade + 1));
    if (!type) {
      const known = jobTypes().map((x) => x.name);
      throw new UnrecoverableError(`unknown job "${job.name}": this worker knows ${known.length ? known.join(', ') : 'no job types'}`);
    }
    // Defaults for jobs that set none (see WorkerSettings): BullMQ reads these from the job object
    // when it decides whether to retry.
    if (!job.opts.attempts) job.opts.attempts = type.tries ?? settings.tries;
    if (!job.opts.backoff) job.opts.backoff = { type: 'fixed', delay: (type.backoff ?? settings.backoff) * 1000 };

    const parsed = type.schema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid payload for ${job.name}: ${formatIssues(parsed.error, '(payload)').join('; ')}`);

    const ctx = this.contextFor(t);
    this.deadlines.arm(t, type);
    // Validated above: a type that also validates inside `process` (defineJob) is not made to do it twice.
    return type.processParsed ? type.processParsed(parsed.data, ctx) : type.process(parsed.data, ctx);
  }

  /** What the job sees. Its signal is made only if it asks (see RunningJob). */
  private contextFor(t: RunningJob): JobContext {
    return new RunContext(t, this.shared);
  }
}

/**
 * The JobContext of one run: two fields, everything else read through getters from the worker's
 * shared parts when the job asks (most jobs touch one or two), so a job costs one small object here
 * instead of a literal with a nested object, a getter and a closure.
 */
class RunContext implements JobContext {
  private boundLog: JobContext['log'] | undefined = undefined;

  constructor(
    private readonly run: RunningJob,
    private readonly runner: SharedByJobs,
  ) {}

  get config(): Config {
    return this.runner.config;
  }

  get signal(): AbortSignal {
    return this.run.signal;
  }

  get job(): Job {
    return this.run.job;
  }

  get redis(): JobContext['redis'] {
    return this.runner.redis;
  }

  get metrics(): CounterStore | undefined {
    return this.runner.counters;
  }

  get limits(): ProviderLimits {
    return this.runner.limits;
  }

  /** Bound once asked for, so `const { log } = ctx` works like any other field. */
  get log(): JobContext['log'] {
    if (!this.boundLog) {
      const { job, queue } = this.run;
      const log = this.runner.log;
      this.boundLog = (event, fields) => log({ event, ...jobFields(job, queue), ...fields });
    }
    return this.boundLog;
  }
}
