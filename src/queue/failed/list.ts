import type { Config } from '../../config/resolve.js';
import type { RedisClient } from '../../redis/connect.js';
import { resolveQueues } from '../queues.js';
import { compileFilter, type FailedFilter } from './filter.js';
import type { CorruptJob, JobRecord } from '../walk/job-hash.js';
import { walkFailed } from './walk.js';

/** `failed list`: the newest failed jobs, their reasons, and the hashes BullMQ cannot load. */

export interface FailedListItem {
  id: string;
  queue: string;
  name: string;
  method?: string;
  failedReason: string;
  attemptsMade: number;
  attempts: number;
  timestamp: number | null;
  processedOn: number | null;
  finishedOn: number | null;
}

export interface FailedList {
  /** Readable failed jobs matching the filters (all of them, not only the ones listed). */
  total: number;
  /** Newest first, at most `limit`. */
  jobs: FailedListItem[];
  /** Unreadable hashes in the queues and time range looked at (never filtered by name or error: they cannot be judged). */
  corrupt: CorruptJob[];
  queues: string[];
}

function listItem(job: JobRecord): FailedListItem {
  return {
    id: job.id,
    queue: job.queue,
    name: job.name,
    ...(job.method ? { method: job.method } : {}),
    failedReason: job.failedReason,
    attemptsMade: job.attemptsMade,
    attempts: job.attempts,
    timestamp: job.timestamp,
    processedOn: job.processedOn,
    finishedOn: job.finishedOn,
  };
}

const newestFirst = (a: FailedListItem, b: FailedListItem) =>
  (b.finishedOn ?? 0) - (a.finishedOn ?? 0) || a.queue.localeCompare(b.queue) || b.id.localeCompare(a.id, undefined, { numeric: true });

/**
 * Walks every failed set page by page; keeps only the newest `limit` jobs in memory (0 = all) while
 * counting every match.
 */
export async function listFailed(config: Config, client: RedisClient, filter: FailedFilter, limit: number): Promise<FailedList> {
  const f = compileFilter(filter);
  const queues = await resolveQueues(config, client, f.queues);
  const prefix = config.queue.prefix;
  let kept: FailedListItem[] = [];
  const corrupt: CorruptJob[] = [];
  let total = 0;
  for (const queue of queues) {
    for await (const page of walkFailed(client, prefix, queue, { since: f.since, readOnly: true })) {
      for (const e of page.entries) {
        if (!e.read.ok) {
          corrupt.push(e.read.corrupt);
          continue;
        }
        if (f.match && !f.match(e.read.job)) continue;
        total++;
        kept.push(listItem(e.read.job));
      }
      if (limit > 0 && kept.length > limit * 2) kept = kept.sort(newestFirst).slice(0, limit);
    }
  }
  kept.sort(newestFirst);
  if (limit > 0) kept = kept.slice(0, limit);
  return { total, jobs: kept, corrupt, queues };
}
