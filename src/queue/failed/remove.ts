import type { Config } from '../../config/resolve.js';
import type { RedisClient } from '../../redis/connect.js';
import { execPipeline } from '../../redis/pipeline.js';
import { DECLINED, type Confirm, type Declined } from '../../util/confirm.js';
import { resolveQueues, withQueues } from '../queues.js';
import { failedKey } from '../walk/job-hash.js';
import { groupByQueue, locateFailed, type Located } from './locate.js';
import { skipReason, type SkippedJob } from './retry.js';
import { PAGE_SIZE } from './walk.js';

/**
 * Removing failed jobs: `failed forget <id…>` and `failed flush`. Both go through BullMQ's scripts,
 * which never parse a job: corrupt hashes go too. Memory stays bounded by one page.
 */

export interface RemoveResult {
  removed: number;
  dryRun: boolean;
  queues: { name: string; removed: number }[];
  /** Jobs BullMQ refused to remove (a job scheduler's current run, a job running again). */
  skipped: SkippedJob[];
}

export interface ForgetRequest {
  /** The queues to look in for the ids (default: every queue). */
  queues?: readonly string[];
  dryRun?: boolean;
  /** Asked with the jobs found, before any is removed (not for a dry run). */
  confirm?: Confirm<Located[]>;
}

/**
 * `failed forget <id…>`: finds the ids (exit 2 for an unknown or ambiguous one, nothing removed),
 * then removes those failed jobs (hash, logs, set entry, flow links) with BullMQ's removeJob script.
 */
export async function forgetFailed(config: Config, client: RedisClient, ids: readonly string[], request: ForgetRequest = {}): Promise<RemoveResult | Declined> {
  const located = await locateFailed(config, client, ids, request.queues);
  const byQueue = groupByQueue(located);
  const result: RemoveResult = { removed: 0, dryRun: !!request.dryRun, queues: [], skipped: [] };
  if (request.dryRun) {
    for (const [name, list] of byQueue) result.queues.push({ name, removed: list.length });
    result.removed = located.length;
    return result;
  }
  if (request.confirm && !(await request.confirm(located))) return DECLINED;
  return withQueues(config, client, async (queue) => {
    for (const [name, list] of byQueue) {
      let n = 0;
      for (let i = 0; i < list.length; i += PAGE_SIZE) {
        const batch = list.slice(i, i + PAGE_SIZE);
        const codes = await Promise.allSettled(batch.map((id) => queue(name).remove(id)));
        codes.forEach((c, j) => {
          if (c.status === 'fulfilled' && c.value === 1) n++;
          else
            result.skipped.push({
              id: batch[j],
              queue: name,
              reason: c.status === 'rejected' ? skipReason(c.reason) : 'locked by a worker (it is running again)',
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
  /** `--hours`: only jobs that failed more than this many hours ago. */
  hours?: number;
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
  return { cutoff, ...(hours !== undefined ? { hours } : {}), queues: list, total: list.reduce((s, q) => s + q.count, 0) };
}

/**
 * Removes what a flush plan counted: BullMQ's `clean` on the failed set, 1,000 jobs per script call
 * (a call holds Redis for a few milliseconds, never seconds), up to the plan's cut-off.
 */
export async function runFlush(config: Config, client: RedisClient, plan: FlushPlan): Promise<RemoveResult> {
  const result: RemoveResult = { removed: 0, dryRun: false, queues: [], skipped: [] };
  const names = plan.queues.filter((q) => q.count > 0).map((q) => q.name);
  return withQueues(config, client, async (queue) => {
    for (const name of names) {
      let n = 0;
      for (;;) {
        // clean() takes a grace period back from its own clock: recompute it so the cut-off stays fixed.
        const grace = Math.max(0, Date.now() - plan.cutoff);
        const ids = await queue(name).clean(grace, PAGE_SIZE, 'failed');
        n += ids.length;
        if (ids.length < PAGE_SIZE) break;
      }
      result.removed += n;
      result.queues.push({ name, removed: n });
    }
    return result;
  });
}

export interface FlushRequest {
  /** Default: every queue. */
  queues?: readonly string[];
  /** Only jobs that failed more than this many hours ago. */
  hours?: number;
  dryRun?: boolean;
  /** Asked with the plan before anything is removed (not for a dry run, nor when there is nothing to remove). */
  confirm?: Confirm<FlushPlan>;
}

/** `failed flush`: counts what goes, asks, then removes it (corrupt hashes too). */
export async function flushFailed(config: Config, client: RedisClient, request: FlushRequest = {}): Promise<RemoveResult | Declined> {
  const plan = await planFlush(config, client, request.queues, request.hours);
  if (request.dryRun || plan.total === 0) {
    return { removed: plan.total, dryRun: !!request.dryRun, queues: plan.queues.map((q) => ({ name: q.name, removed: q.count })), skipped: [] };
  }
  if (request.confirm && !(await request.confirm(plan))) return DECLINED;
  return runFlush(config, client, plan);
}
