import { UnrecoverableError, type Job } from 'bullmq';
import { ProviderError } from '../providers/http.js';

/**
 * How a provider failure becomes a BullMQ outcome:
 * - not retryable (4xx other than 429, a Retry-After over an hour) → UnrecoverableError: failed at
 *   once, no retries, the reason holds the status and the provider's message;
 * - 429 with Retry-After → a normal failed attempt whose retry waits Retry-After instead of the
 *   job's backoff (see `waitBeforeRetry`);
 * - everything else (5xx, timeouts, network errors, 429 without Retry-After) → a normal failed
 *   attempt, retried after the job's backoff (fixed 60 s by default) until its tries run out.
 */
export function toJobError(err: unknown, job: Job | undefined): unknown {
  if (!(err instanceof ProviderError)) return err;
  if (!err.retryable) return new UnrecoverableError(err.message);
  if (err.retryAfterMs !== undefined && job) waitBeforeRetry(job, err.retryAfterMs);
  return err;
}

/**
 * Makes BullMQ wait `ms` before the next attempt of this job, instead of its configured backoff.
 *
 * Why this works: when a processor throws, BullMQ's `Job.moveToFailed` computes the retry delay from
 * `this.opts.backoff` of the very Job instance the processor received (Job.shouldRetryJob), then moves
 * the job to `delayed` for that long and counts the attempt. Overriding the backoff on that in-memory
 * instance changes this one retry only: the stored job options are untouched, the attempt is counted
 * like any other (so a provider answering 429 forever still ends after `tries`), the reason is recorded,
 * and no worker slot is held while waiting. Works with any worker that hands the processor BullMQ's
 * Job (no custom backoff strategy or job-option type needed). Covered by test/integration/fetch.test.ts.
 */
export function waitBeforeRetry(job: Job, ms: number): void {
  job.opts = { ...job.opts, backoff: { type: 'fixed', delay: Math.max(0, Math.round(ms)) } };
}
