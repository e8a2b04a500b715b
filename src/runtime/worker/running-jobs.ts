import type { Job } from 'bullmq';
import type { EventLog } from '../events.js';
import { jobFields } from './logging.js';

/** An outcome BullMQ never reported (a lost lock) stops counting after this long. */
const SETTLE_MS = 15_000;

/**
 * One job this worker has started, from its processor's start until BullMQ has recorded its outcome.
 * A class with every field set in the constructor: one object per job, of one shape.
 */
export class RunningJob {
  /** It ignored its timeout for --grace: it keeps its lock until this process exits. */
  stuck = false;
  /** When the processor returned; the entry stays until BullMQ has recorded the outcome (its completed/failed event). */
  returnedAt: number | undefined = undefined;
  /** The job's own timeout (its type's, capped by --timeout), seconds. */
  timeoutS = 0;
  timedOut = false;
  /** performance.now() at which its timeout fires (JobDeadlines' sweep). */
  deadlineAt = Infinity;
  /** performance.now() when the processor began the job's work; its duration counts from here. */
  startedAt: number | undefined = undefined;
  graceTimer: NodeJS.Timeout | undefined = undefined;
  // The job's AbortSignal is made when the job first asks for it. A job that never looks at it
  // cannot honour it either, and an AbortController costs ~10 µs of CPU on Node 20 (profiled:
  // createAbortSignal was the largest cost rqctl's worker added per no-op job, bench worker-c50).
  private controller: AbortController | undefined = undefined;
  private pendingReason: unknown = undefined;

  constructor(
    readonly job: Job,
    readonly queue: string,
  ) {}

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.pendingReason !== undefined) this.controller.abort(this.pendingReason);
    }
    return this.controller.signal;
  }

  /** Aborts the job's signal, now or when the job first asks for it. */
  abort(reason: unknown): void {
    if (this.controller) this.controller.abort(reason);
    else this.pendingReason ??= reason;
  }
}

/** The jobs this worker runs, and those whose outcome BullMQ has yet to record. */
export class RunningJobs {
  private readonly tracked = new Map<Job, RunningJob>();

  constructor(private readonly log: EventLog) {}

  get size(): number {
    return this.tracked.size;
  }

  add(job: Job, queue: string): RunningJob {
    const t = new RunningJob(job, queue);
    this.tracked.set(job, t);
    return t;
  }

  /**
   * The processor returned. BullMQ records the outcome right after and then emits completed/failed;
   * a flow parent waiting for its children (a control error) emits nothing. `sweep` covers a lost lock.
   */
  returned(t: RunningJob, controlError: boolean): void {
    if (controlError) this.tracked.delete(t.job);
    else t.returnedAt = Date.now();
  }

  /**
   * BullMQ recorded the job's outcome: it stops being tracked. Returns how long its processor ran
   * (ms), or undefined for a job this worker did not begin.
   */
  settle(job: Job): number | undefined {
    const t = this.tracked.get(job);
    if (t === undefined) return undefined;
    this.tracked.delete(job);
    return t.startedAt === undefined ? undefined : Math.round(performance.now() - t.startedAt);
  }

  /** Drops entries whose outcome BullMQ never reported (a timer per job would cost throughput). */
  sweep(): void {
    const now = Date.now();
    for (const t of this.tracked.values()) if (t.returnedAt !== undefined && now - t.returnedAt > SETTLE_MS) this.tracked.delete(t.job);
  }

  /**
   * A running job's lock could not be renewed: it lapsed (Redis stalled or was away longer than the
   * lock) and another worker may already be running the job again. Tell this run to stop.
   */
  lockLost(queue: string, ids: string[]): void {
    for (const t of this.tracked.values()) {
      if (t.queue !== queue || t.returnedAt !== undefined || !ids.includes(String(t.job.id))) continue;
      this.log({
        level: 'warn',
        event: 'lock-lost',
        ...jobFields(t.job, queue),
        msg: `${t.job.name} #${t.job.id} lost its lock; aborting this run (the job runs again once recovered as stalled)`,
      });
      t.abort(Object.assign(new Error('lost the job lock: Redis was unreachable or stalled longer than the lock'), { name: 'LockLostError' }));
    }
  }

  /** Jobs that ignored their timeout: the process must exit non-zero for BullMQ to recover them. */
  anyStuck(): boolean {
    for (const t of this.tracked.values()) if (t.stuck) return true;
    return false;
  }

  /**
   * Waits for every running job's processor to return. Jobs that ignored their timeout never do;
   * a job that returned but whose outcome BullMQ never reported (its completion was lost with a
   * dropped connection: the job is recovered as stalled later) is BullMQ's close()'s business,
   * not a reason to hold SIGTERM for SETTLE_MS (seen: a CLIENT KILL left a worker unable to stop
   * within supervisord's stopwaitsecs).
   */
  async untilIdle(): Promise<void> {
    for (;;) {
      this.sweep();
      if (!this.anyRunning()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private anyRunning(): boolean {
    for (const t of this.tracked.values()) if (!t.stuck && t.returnedAt === undefined) return true;
    return false;
  }
}
