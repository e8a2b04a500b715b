import { Job, type Queue } from 'bullmq';
import type { Config } from '../config/resolve.js';
import type { RedisClient } from '../redis/connect.js';
import { compileFilter, type FailedFilter } from './failed-filter.js';
import { failedKey, readJobs, type CorruptJob, type FailedJob } from './failed-jobs.js';
import { PAGE_SIZE, resolveQueues, walkFailed, type Located } from './failed.js';
import { openQueue } from './queues.js';
import { execPipeline } from '../redis/pipeline.js';

/**
 * Changing failed jobs: retry, forget, flush. Memory stays bounded by one page (1,000 jobs) however
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
  /**
   * Unreadable jobs. Filtered and id retries skip them (they stay failed). An unfiltered `retry all`
   * moves them with the rest (BullMQ's bulk move does not read jobs): its dry run lists them and
   * counts them in `retried`, the real run does not read them at all.
   */
  corrupt: CorruptJob[];
  /** True when the corrupt jobs listed are moved too (a dry run of the unfiltered bulk retry). */
  corruptMoved?: boolean;
  /** Queues that got jobs back but are paused: nothing runs them until `queue resume`. */
  pausedQueues?: string[];
  /** Jobs that left the failed set between reading and retrying (another operator, retention). */
  skipped: SkippedJob[];
}

/** How to pick the jobs to retry: ids (already located), or everything matching a filter. */
export type RetrySelection = { ids: Located[] } | { filter: FailedFilter; limit: number };

/** Opens one BullMQ Queue per name on the shared client and closes them all. */
async function withQueues<T>(config: Config, client: RedisClient, names: readonly string[], fn: (get: (name: string) => Queue) => Promise<T>): Promise<T> {
  const open = new Map<string, Queue>();
  const get = (name: string) => {
    let q = open.get(name);
    if (!q) {
      q = openQueue(config, name, client);
      open.set(name, q);
    }
    return q;
  };
  try {
    return await fn(get);
  } finally {
    await Promise.all([...open.values()].map((q) => q.close().catch(() => {})));
  }
}

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
    else skipped.push({ id: jobs[i].id, queue: jobs[i].queue, reason: describeRetryError(r.reason) });
  });
  return { moved, skipped };
}

function describeRetryError(err: unknown): string {
  const msg = String((err as Error)?.message ?? err);
  if (/not in the (failed|finished) state|not found in the expected set|Missing key/i.test(msg)) return 'no longer failed (retried or removed meanwhile)';
  return msg.split('\n')[0];
}

export async function retryFailed(config: Config, client: RedisClient, selection: RetrySelection, dryRun: boolean): Promise<RetryResult> {
  const result = await retryJobsIn(config, client, selection, dryRun);
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

async function retryJobsIn(config: Config, client: RedisClient, selection: RetrySelection, dryRun: boolean): Promise<RetryResult> {
  const prefix = config.queue.prefix;
  const result: RetryResult = { retried: 0, dryRun, queues: [], corrupt: [], skipped: [] };

  if ('ids' in selection) {
    const byQueue = groupByQueue(selection.ids);
    return withQueues(config, client, [...byQueue.keys()], async (get) => {
      for (const [queue, ids] of byQueue) {
        let n = 0;
        for (let i = 0; i < ids.length; i += PAGE_SIZE) {
          const reads = await readJobs(client, prefix, queue, ids.slice(i, i + PAGE_SIZE));
          const readable: FailedJob[] = [];
          for (const r of reads) {
            if (r.result.ok) readable.push(r.result.job);
            else result.corrupt.push(r.result.corrupt);
          }
          if (dryRun) n += readable.length;
          else {
            const { moved, skipped } = await retryBatch(get(queue), readable);
            n += moved.length;
            result.skipped.push(...skipped);
          }
        }
        result.retried += n;
        result.queues.push({ name: queue, retried: n, method: 'per-job' });
      }
      return result;
    });
  }

  const f = compileFilter(selection.filter);
  const limit = selection.limit;
  const queues = await resolveQueues(config, client, f.queues);
  // Jobs that fail while we work get newer scores: the cut-off keeps them out (no endless loop when
  // a retried job fails again at once).
  const until = Date.now();
  if (!f.narrows && limit === 0 && dryRun) result.corruptMoved = true;
  return withQueues(config, client, queues, async (get) => {
    for (const queue of queues) {
      if (limit > 0 && result.retried >= limit) break;
      if (!f.narrows && limit === 0 && !dryRun) {
        // Everything in the queue: BullMQ's server-side bulk move (1,000 jobs per script call,
        // nothing read into memory). Corrupt jobs move too, as docs/commands.md allows: BullMQ cannot
        // load them, so they fail again when a worker takes them.
        const key = failedKey(prefix, queue);
        const before = await client.zcount(key, '-inf', until);
        if (before === 0) {
          result.queues.push({ name: queue, retried: 0, method: 'bulk' });
          continue;
        }
        await get(queue).retryJobs({ state: 'failed', count: PAGE_SIZE, timestamp: until });
        const after = await client.zcount(key, '-inf', until);
        const n = Math.max(0, before - after);
        result.retried += n;
        result.queues.push({ name: queue, retried: n, method: 'bulk' });
        continue;
      }
      let n = 0;
      // A dry run of the bulk move counts what it would move: corrupt hashes included.
      const bulkDryRun = !f.narrows && limit === 0;
      for await (const page of walkFailed(client, prefix, queue, { since: f.since, until })) {
        const batch: FailedJob[] = [];
        for (const e of page.entries) {
          if (!e.read.ok) {
            result.corrupt.push(e.read.corrupt);
            if (bulkDryRun) n++;
            continue;
          }
          if (f.match && !f.match(e.read.job)) continue;
          if (limit > 0 && result.retried + n + batch.length >= limit) break;
          batch.push(e.read.job);
        }
        if (dryRun) n += batch.length;
        else if (batch.length) {
          const { moved, skipped } = await retryBatch(get(queue), batch);
          page.cursor.removed(moved);
          n += moved.length;
          result.skipped.push(...skipped);
        }
        if (limit > 0 && result.retried + n >= limit) break;
      }
      result.retried += n;
      result.queues.push({ name: queue, retried: n, method: 'per-job' });
    }
    return result;
  });
}

export interface RemoveResult {
  removed: number;
  dryRun: boolean;
  queues: { name: string; removed: number }[];
  /** Jobs BullMQ refused to remove (a job scheduler's current run, a job running again). */
  skipped: SkippedJob[];
}

function groupByQueue(ids: readonly Located[]): Map<string, string[]> {
  const byQueue = new Map<string, string[]>();
  for (const l of ids) {
    const list = byQueue.get(l.queue);
    if (list) list.push(l.id);
    else byQueue.set(l.queue, [l.id]);
  }
  return byQueue;
}

/**
 * `failed forget <id…>`: removes the given failed jobs (hash, logs, set entry, flow links) with
 * BullMQ's removeJob script, which never parses the job: corrupt hashes go too.
 */
export async function forgetFailed(config: Config, client: RedisClient, ids: readonly Located[], dryRun: boolean): Promise<RemoveResult> {
  const byQueue = groupByQueue(ids);
  const result: RemoveResult = { removed: 0, dryRun, queues: [], skipped: [] };
  if (dryRun) {
    for (const [name, list] of byQueue) result.queues.push({ name, removed: list.length });
    result.removed = ids.length;
    return result;
  }
  return withQueues(config, client, [...byQueue.keys()], async (get) => {
    for (const [name, list] of byQueue) {
      let n = 0;
      for (let i = 0; i < list.length; i += PAGE_SIZE) {
        const batch = list.slice(i, i + PAGE_SIZE);
        const codes = await Promise.allSettled(batch.map((id) => get(name).remove(id)));
        codes.forEach((c, j) => {
          if (c.status === 'fulfilled' && c.value === 1) n++;
          else
            result.skipped.push({
              id: batch[j],
              queue: name,
              reason: c.status === 'rejected' ? describeRetryError(c.reason) : 'locked by a worker (it is running again)',
            });
        });
      }
      result.removed += n;
      result.queues.push({ name, removed: n });
    }
    return result;
  });
}

export interface FlushPlan {
  /** Failed before this time (ms) are removed. */
  cutoff: number;
  queues: { name: string; count: number }[];
  total: number;
}

/** What `failed flush [--hours N]` would remove: counted from the failed sets, nothing read. */
export async function planFlush(
  config: Config,
  client: RedisClient,
  queuesAsked: readonly string[] | undefined,
  hours: number | undefined,
): Promise<FlushPlan> {
  const queues = await resolveQueues(config, client, queuesAsked);
  const cutoff = Date.now() - (hours ?? 0) * 3_600_000;
  const pipe = client.pipeline();
  for (const q of queues) pipe.zcount(failedKey(config.queue.prefix, q), '-inf', cutoff);
  const replies = await execPipeline(pipe);
  const list = queues.map((name, i) => ({ name, count: Number(replies[i]?.[1] ?? 0) }));
  return { cutoff, queues: list, total: list.reduce((s, q) => s + q.count, 0) };
}

/**
 * `failed flush`: BullMQ's `clean` on the failed set, 1,000 jobs per script call (a call holds Redis
 * for a few milliseconds, never seconds), up to the plan's cut-off. Corrupt hashes go too: the
 * clean script never parses jobs.
 */
export async function flushFailed(config: Config, client: RedisClient, plan: FlushPlan): Promise<RemoveResult> {
  const result: RemoveResult = { removed: 0, dryRun: false, queues: [], skipped: [] };
  const names = plan.queues.filter((q) => q.count > 0).map((q) => q.name);
  return withQueues(config, client, names, async (get) => {
    for (const name of names) {
      let n = 0;
      for (;;) {
        // clean() takes a grace period back from its own clock: recompute it so the cut-off stays fixed.
        const grace = Math.max(0, Date.now() - plan.cutoff);
        const ids = await get(name).clean(grace, PAGE_SIZE, 'failed');
        n += ids.length;
        if (ids.length < PAGE_SIZE) break;
      }
      result.removed += n;
      result.queues.push({ name, removed: n });
    }
    return result;
  });
}
