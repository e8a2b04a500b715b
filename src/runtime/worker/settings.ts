import { usageError } from '../../errors.js';
import { queueNameProblem } from '../../config/queue-names.js';

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

export type StopReason = 'signal' | 'max-time' | 'max-jobs' | 'memory' | 'empty' | 'restart' | 'stuck-job' | 'refused';

export interface WorkerStop {
  reason: StopReason;
  /**
   * What the process should exit with: 0; 1 when a job ignored its timeout (supervisord restarts it);
   * 3 when Redis kept refusing its writes (READONLY, NOPERM: see refusals.ts).
   */
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

/** Who this worker is: in its heartbeat record, on the jobs it runs, on its Redis connections. */
export interface WorkerIdentity {
  id: string;
  name: string;
  host: string;
}

/** What every part may ask of the worker as a whole: whether it is stopping, and to stop. */
export interface StopSwitch {
  readonly stopping: boolean;
  requestStop(reason: StopReason, message: string): void;
}

export function validateWorkerSettings(s: WorkerSettings): void {
  if (!s.queues.length) throw usageError('--queue needs at least one queue name');
  for (const q of s.queues) {
    const problem = queueNameProblem(q);
    if (problem) throw usageError(problem);
  }
  if (new Set(s.queues).size !== s.queues.length) throw usageError(`--queue lists a queue twice: ${s.queues.join(',')}`);
  if (s.concurrency < 1) throw usageError('--concurrency must be at least 1');
  if (s.timeout <= 0) throw usageError('--timeout must be at least 1 second');
  if (s.sleep <= 0) throw usageError('--sleep must be more than 0 seconds');
}
