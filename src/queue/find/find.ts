import type { Config } from '../../config/resolve.js';
import type { RedisClient } from '../../redis/connect.js';
import { queuesToWalk } from '../discover.js';
import type { CorruptJob, JobRecord } from '../walk/job-hash.js';
import { jobTime, type JobState } from '../walk/states.js';
import { compileFind, type FindFilter } from './filter.js';
import { emptyTally, walkMatches } from './matches.js';

/** `jobs find` without an action: the newest matches and how many there are. */

export interface FoundJob {
  id: string;
  queue: string;
  name: string;
  method?: string;
  state: JobState;
  data: unknown;
  failedReason: string;
  attemptsMade: number;
  timestamp: number | null;
  processedOn: number | null;
  finishedOn: number | null;
}

export interface FindResult {
  /** Every job that matched, not only those listed. */
  total: number;
  /** Newest first (see `jobTime`), at most `limit`. */
  jobs: FoundJob[];
  corrupt: CorruptJob[];
  corruptTotal: number;
  queues: string[];
  states: JobState[];
}

function found(job: JobRecord, state: JobState): FoundJob {
  return {
    id: job.id,
    queue: job.queue,
    name: job.name,
    ...(job.method ? { method: job.method } : {}),
    state,
    data: job.data,
    failedReason: job.failedReason,
    attemptsMade: job.attemptsMade,
    timestamp: job.timestamp,
    processedOn: job.processedOn,
    finishedOn: job.finishedOn,
  };
}

/** Newest first by the time a job is placed in; ties by queue, then the higher id first. */
export function newestFirst(a: FoundJob, b: FoundJob): number {
  return (jobTime(b.state, b) ?? 0) - (jobTime(a.state, a) ?? 0) || a.queue.localeCompare(b.queue) || b.id.localeCompare(a.id, undefined, { numeric: true });
}

/** Walks every selected state of every queue; keeps only the newest `limit` matches (0 = all) while counting every one. */
export async function findJobs(config: Config, client: RedisClient, filter: FindFilter, limit: number): Promise<FindResult> {
  const f = compileFind(filter);
  const queues = queuesToWalk(config, client, f.queues);
  const tally = emptyTally();
  let kept: FoundJob[] = [];
  for await (const page of walkMatches(client, config.queue.prefix, queues, f, tally, { readOnly: true, startedAt: Date.now() })) {
    for (const job of page.jobs) kept.push(found(job, page.state));
    if (limit > 0 && kept.length > limit * 2) kept = kept.sort(newestFirst).slice(0, limit);
  }
  kept.sort(newestFirst);
  if (limit > 0) kept = kept.slice(0, limit);
  return { total: tally.total, jobs: kept, corrupt: tally.corrupt, corruptTotal: tally.corruptTotal, queues: tally.queues.sort(), states: f.states };
}
