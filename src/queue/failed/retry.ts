import { Job, type Queue } from 'bullmq';
import type { Config } from '../../config/resolve.js';
import type { RedisClient } from '../../redis/connect.js';
import { execPipeline } from '../../redis/pipeline.js';
import { resolveQueues, withQueues } from '../queues.js';
import { compileFilter, type CompiledFilter, type FailedFilter } from './filter.js';
import { failedKey, readJobs, type CorruptJob, type JobRecord as FailedJob } from '../walk/job-hash.js';
import { groupByQueue, locateFailed, type Located } from './locate.js';
import { PAGE_SIZE, walkFailed } from './walk.js';
import { findCorruptFailed, parkCorrupt, restoreParked } from './corrupt.js';

/**
 * `failed retry`: failed jobs back to waiting. Memory stays bounded by one page (1,000 jobs) however
 * many jobs are affected; every move goes through BullMQ's own scripts (so events, markers, paused
 * queues, priorities and flows stay right), batched so a page costs a few round trips.
 */

export interface SkippedJob {
  id: string;
  queue: string;
  reason: string;
}

export interface RetryResult {
  retried: number;
  dryRun: boolean;
  /** Per queue, for the human summary. */
  queues: { name: string; retried: number; method: 'bulk' | 'per-job' }[];
  /** Unreadable jobs: never retried (a worker could not load them), they stay in the failed set. */
  corrupt: CorruptJob[];
  /** Queues that got jobs back but are paused: nothing runs them until `queue resume`. */
  pausedQueues?: string[];
  /** Jobs that left the failed set between reading and retrying (another operator, retention). */
  skipped: SkippedJob[];
}

/**
 * How to pick the jobs to retry: ids (found in the failed sets of `queues`, or of every queue; an
 * unknown or ambiguous id is exit 2 before anything moves), or everything matching a filter.
 */
export type RetrySelection = { ids: readonly string[]; queues?: readonly string[] } | { filter: FailedFilter; limit: number };

/**
 * Moves readable failed jobs back to waiting with BullMQ's reprocess script (what `job.retry()`
 * runs), all of a batch in flight at once: ioredis writes them back to back, one round trip.
 * Returns the ids that were moved and those that were no longer failed.
 */
async function retryBatch(queue: Queue, jobs: readonly FailedJob[]): Promise<{ moved: string[]; skipped: SkippedJob[] }> {
  const results = await Promise.allSettled(
    jobs.map((j) => {
      // Only id and opts.lifo matter to the script; data is not re-serialised.
      const job = new Job(queue, j.name, undefined, { lifo: j.opts.lifo === true }, j.id);
      return job.retry('failed');
    }),
  );
  const moved: string[] = [];
  const skipped: SkippedJob[] = [];
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') moved.push(jobs[i].id);
    else skipped.push({ id: jobs[i].id, queue: jobs[i].queue, reason: skipReason(r.reason) });
  });
  return { moved, skipped };
}

/** Why BullMQ would not move or remove a job, in a few words. */
export function skipReason(err: unknown): string {
  const msg = String((err as Error)?.message ?? err);
  if (/not in the (failed|finished) state|not found in the expected set|Missing key/i.test(msg)) return 'no longer failed (retried or removed meanwhile)';
  return msg.split('\n')[0];
}

export async function retryFailed(config: Config, client: RedisClient, selection: RetrySelection, dryRun: boolean): Promise<RetryResult> {
  const result: RetryResult = { retried: 0, dryRun, queues: [], corrupt: [], skipped: [] };
  if ('ids' in selection) await retryIds(config, client, await locateFailed(config, client, selection.ids, selection.queues), result);
  else await retryMatching(config, client, compileFilter(selection.filter), selection.limit, result);
  // Retried jobs of a paused queue wait for `queue resume`: say so rather than let them sit unseen.
  const touched = result.queues.filter((q) => q.retried > 0).map((q) => q.name);
  if (touched.length) {
    const pipe = client.pipeline();
    for (const q of touched) pipe.hexists(`${config.queue.prefix}:${q}:meta`, 'paused');
    const replies = await execPipeline(pipe);
    result.pausedQueues = touched.filter((_, i) => replies[i]?.[1] === 1);
  }
  return result;
}

/** Given ids: read a page of hashes at a time, move the readable ones, report the corrupt ones. */
async function retryIds(config: Config, client: RedisClient, located: readonly Located[], result: RetryResult): Promise<void> {
  const byQueue = groupByQueue(located);
  await withQueues(config, client, async (queue) => {
    for (const [name, ids] of byQueue) {
      let n = 0;
      for (let i = 0; i < ids.length; i += PAGE_SIZE) {
        const reads = await readJobs(client, config.queue.prefix, name, ids.slice(i, i + PAGE_SIZE));
        const readable: FailedJob[] = [];
        for (const r of reads) {
          if (r.result.ok) readable.push(r.result.job);
          else result.corrupt.push(r.result.corrupt);
        }
        if (result.dryRun) n += readable.length;
        else {
          const { moved, skipped } = await retryBatch(queue(name), readable);
          n += moved.length;
          result.skipped.push(...skipped);
        }
      }
      result.retried += n;
      result.queues.push({ name, retried: n, method: 'per-job' });
    }
  });
}

/** `retry all [filters]`: BullMQ's bulk move when nothing narrows it, else a walk of the failed sets. */
async function retryMatching(config: Config, client: RedisClient, f: CompiledFilter, limit: number, result: RetryResult): Promise<void> {
  const queues = await resolveQueues(config, client, f.queues);
  // Jobs that fail while we work get newer scores: the cut-off keeps them out (no endless loop when
  // a retried job fails again at once).
  const until = Date.now();
  const everything = !f.narrows && limit === 0;
  await withQueues(config, client, async (queue) => {
    for (const name of queues) {
      if (limit > 0 && result.retried >= limit) break;
      if (!result.dryRun) await restoreParked(client, config.queue.prefix, name);
      // A BullMQ Queue is opened only to move jobs: opening one writes its meta key.
      const bulk = everything && !result.dryRun;
      const n = bulk
        ? await bulkRetry(client, config.queue.prefix, name, () => queue(name), until, result)
        : await walkRetry(client, config.queue.prefix, name, () => queue(name), { f, limit, until }, result);
      result.retried += n;
      result.queues.push({ name, retried: n, method: bulk ? 'bulk' : 'per-job' });
    }
  });
}

/**
 * Everything in the queue: BullMQ's server-side bulk move (1,000 jobs per script call, nothing read
 * into memory), without the corrupt jobs: they are found first and parked in the failed set while
 * the move runs (src/queue/failed/corrupt.ts), so they stay failed, with their failure time.
 */
async function bulkRetry(client: RedisClient, prefix: string, name: string, queue: () => Queue, until: number, result: RetryResult): Promise<number> {
  const key = failedKey(prefix, name);
  const before = await client.zcount(key, 0, until);
  if (before === 0) return 0;
  const corrupt = await findCorruptFailed(client, prefix, name);
  result.corrupt.push(...corrupt);
  const parked = corrupt.length
    ? await parkCorrupt(
        client,
        prefix,
        name,
        corrupt.map((c) => c.id),
        until,
      )
    : [];
  try {
    if (parked.length < before) await queue().retryJobs({ state: 'failed', count: PAGE_SIZE, timestamp: until });
  } finally {
    if (parked.length) await restoreParked(client, prefix, name, parked);
  }
  const after = await client.zcount(key, 0, until);
  return Math.max(0, before - after);
}

/** The jobs of one queue that match, page by page, newest first, up to what `limit` leaves. */
async function walkRetry(
  client: RedisClient,
  prefix: string,
  name: string,
  queue: () => Queue,
  { f, limit, until }: { f: CompiledFilter; limit: number; until: number },
  result: RetryResult,
): Promise<number> {
  let n = 0;
  for await (const page of walkFailed(client, prefix, name, { since: f.since, until })) {
    const batch: FailedJob[] = [];
    for (const e of page.entries) {
      if (!e.read.ok) {
        result.corrupt.push(e.read.corrupt);
        continue;
      }
      if (f.match && !f.match(e.read.job)) continue;
      if (limit > 0 && result.retried + n + batch.length >= limit) break;
      batch.push(e.read.job);
    }
    if (result.dryRun) n += batch.length;
    else if (batch.length) {
      const { moved, skipped } = await retryBatch(queue(), batch);
      page.cursor.removed(moved);
      n += moved.length;
      result.skipped.push(...skipped);
    }
    if (limit > 0 && result.retried + n >= limit) break;
  }
  return n;
}
