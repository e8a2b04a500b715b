import { performance } from 'node:perf_hooks';
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
  /** performance.now() at which its timeout fires (JobDeadlines' sweep); Infinity while not armed. */
  deadlineAt = Infinity;
  /** Its place in RunningJobs' list; -1 once it is no longer tracked. */
  index = -1;
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

/**
 * The jobs this worker runs, and those whose outcome BullMQ has yet to record: a list, not a Map
 * keyed by the job. A Map (or Set) with an entry added and deleted per job replaces its hash table
 * every few dozen jobs, and each replaced table links to its successor: once one of them has been
 * promoted to V8's old space, every later table is kept alive by it through the next scavenges and
 * promoted in turn (~80 bytes per job; measured with bench/own-path.mjs and --trace-gc-nvp). The list
 * holds at most the concurrency plus the few jobs whose outcome is being recorded, so finding a job
 * in it is a short scan.
 */
export class RunningJobs {
  private readonly list: RunningJob[] = [];

  constructor(private readonly log: EventLog) {}

  get size(): number {
    return this.list.length;
  }

  add(job: Job, queue: string): RunningJob {
    const t = new RunningJob(job, queue);
    t.index = this.list.length;
    this.list.push(t);
    return t;
  }

  /** Every tracked job, for a sweep (`fn` may remove the one it is given: the walk goes from the end). */
  each(fn: (t: RunningJob) => void): void {
    for (let i = this.list.length - 1; i >= 0; i--) if (i < this.list.length) fn(this.list[i]!);
  }

  /**
   * The processor returned. BullMQ records the outcome right after and then emits completed/failed;
   * a flow parent waiting for its children (a control error) emits nothing. `sweep` covers a lost lock.
   */
  returned(t: RunningJob, controlError: boolean): void {
    if (controlError) this.remove(t);
    else t.returnedAt = Date.now();
  }

  /**
   * BullMQ recorded the job's outcome: it stops being tracked. Returns how long its processor ran
   * (ms), or undefined for a job this worker did not begin.
   */
  settle(job: Job): number | undefined {
    const list = this.list;
    for (let i = 0; i < list.length; i++) {
      const t = list[i]!;
      if (t.job !== job) continue;
      this.remove(t);
      return t.startedAt === undefined ? undefined : Math.round(performance.now() - t.startedAt);
    }
    return undefined;
  }

  /** Drops entries whose outcome BullMQ never reported (a timer per job would cost throughput). */
  sweep(): void {
    const now = Date.now();
    this.each((t) => {
      if (t.returnedAt !== undefined && now - t.returnedAt > SETTLE_MS) this.remove(t);
    });
  }

  /** Takes `t` out of the list: the last entry moves into its place. */
  private remove(t: RunningJob): void {
    if (t.index < 0) return;
    const last = this.list.pop()!;
    if (last !== t) {
      this.list[t.index] = last;
      last.index = t.index;
    }
    t.index = -1;
  }

  /**
   * A running job's lock could not be renewed: it lapsed (Redis stalled or was away longer than the
   * lock) and another worker may already be running the job again. Tell this run to stop.
   */
  lockLost(queue: string, ids: string[]): void {
    for (const t of this.list) {
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
    for (const t of this.list) if (t.stuck) return true;
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
    for (const t of this.list) if (!t.stuck && t.returnedAt === undefined) return true;
    return false;
  }
}
