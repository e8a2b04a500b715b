import { performance } from 'node:perf_hooks';
import { UnrecoverableError } from 'bullmq';
import type { JobType } from '../../jobs/types.js';
import type { EventLog } from '../events.js';
import { jobFields } from './logging.js';
import type { RunningJob, RunningJobs } from './running-jobs.js';
import type { StopSwitch, WorkerSettings } from './settings.js';

/** Errors BullMQ uses for control flow: a processor throws them on purpose, they are not failures. */
export const CONTROL_ERRORS = new Set(['WaitingError', 'WaitingChildrenError', 'DelayedError', 'RateLimitError']);

function timeoutError(timeoutS: number): Error {
  return Object.assign(new Error(`timed out after ${timeoutS} s`), { name: 'TimeoutError' });
}

/** How often running jobs' deadlines are looked at: a job's timeout fires at most this late. */
const SWEEP_MS = 100;

/**
 * Each job's deadline: its AbortSignal fires after its timeout (the type's own, capped by --timeout);
 * a job that ignores it for --grace keeps its lock until this process exits, so the worker stops and
 * exits non-zero, and BullMQ recovers the job as stalled. One sweep every 100 ms over the running
 * jobs instead of a timer per job (a setTimeout + clearTimeout per job was ~0.6 µs of the worker's CPU
 * per no-op job, profiled with bench/profile-worker.mjs), and no set of armed jobs beside the list of
 * running ones (see RunningJobs: a Set changed per job costs garbage collection); the sweep stops
 * while no job runs. The grace timer exists only once a job has timed out.
 */
export class JobDeadlines {
  private armed = 0;
  private sweeper: NodeJS.Timeout | undefined = undefined;

  constructor(
    private readonly settings: Pick<WorkerSettings, 'timeout' | 'grace'>,
    private readonly jobs: RunningJobs,
    private readonly log: EventLog,
    private readonly stop: StopSwitch,
  ) {}

  /** Starts the job's timeout, counted from when it started (`t.startedAt`, or now). */
  arm(t: RunningJob, type: JobType<any>): void {
    t.timeoutS = Math.min(type.timeout ?? this.settings.timeout, this.settings.timeout);
    t.deadlineAt = (t.startedAt ?? performance.now()) + t.timeoutS * 1000;
    this.armed++;
    this.sweeper ??= setInterval(() => this.sweep(), SWEEP_MS);
  }

  /** The job returned (or threw): its deadline goes. */
  disarm(t: RunningJob): void {
    if (t.deadlineAt !== Infinity) {
      t.deadlineAt = Infinity;
      this.armed--;
    }
    if (t.graceTimer) clearTimeout(t.graceTimer);
  }

  /** No more sweeps (the worker has stopped); grace timers of stuck jobs stay: they still decide the exit. */
  close(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  private sweep(): void {
    if (this.armed === 0) {
      this.close();
      return;
    }
    const now = performance.now();
    this.jobs.each((t) => {
      if (now >= t.deadlineAt) {
        t.deadlineAt = Infinity;
        this.armed--;
        this.expire(t);
      }
    });
  }

  /** What a job that threw `e` failed with: "timed out after S s" once its timeout fired. */
  failure(t: RunningJob, e: unknown): unknown {
    const err = e as Error;
    if (t.timedOut && !CONTROL_ERRORS.has(err?.name) && !(err instanceof UnrecoverableError)) return Object.assign(timeoutError(t.timeoutS), { cause: e });
    return e;
  }

  private expire(t: RunningJob): void {
    const { job, queue, timeoutS } = t;
    t.timedOut = true;
    t.abort(timeoutError(timeoutS));
    this.log({ level: 'warn', event: 'timeout', ...jobFields(job, queue), timeoutS, msg: `${job.name} #${job.id} timed out after ${timeoutS} s; aborting it` });
    t.graceTimer = setTimeout(() => this.graceExpired(t), this.settings.grace * 1000);
  }

  private graceExpired(t: RunningJob): void {
    // The job ignored its signal: it keeps its lock until this process exits, then BullMQ
    // recovers it as stalled. Nothing else is taken meanwhile.
    const { job, queue, timeoutS } = t;
    const grace = this.settings.grace;
    t.stuck = true;
    this.log({
      level: 'error',
      event: 'stuck',
      ...jobFields(job, queue),
      msg: `${job.name} #${job.id} ignored its timeout for ${grace} s; the worker stops and exits non-zero (the job is recovered as stalled)`,
    });
    this.stop.requestStop('stuck-job', `${job.name} #${job.id} did not stop within ${grace} s of its ${timeoutS} s timeout`);
  }
}
