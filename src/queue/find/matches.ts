import type { RedisClient } from '../../redis/connect.js';
import type { CorruptJob, JobRecord } from '../walk/job-hash.js';
import type { JobState } from '../walk/states.js';
import { walkState, type PageCursor } from '../walk/walk.js';
import type { CompiledFind } from './filter.js';
import { SeenIds } from './seen-ids.js';

/** Corrupt hashes listed in a result; `corruptTotal` counts them all (a broken queue can hold many). */
export const CORRUPT_LISTED = 1000;

/** What a walk found besides its matches, filled in as it goes. */
export interface MatchTally {
  /** The queues walked. */
  queues: string[];
  /** Every distinct job that matched (also those beyond a limit). */
  total: number;
  /** Unreadable hashes met in the states walked (never filtered: they cannot be judged), at most CORRUPT_LISTED. */
  corrupt: CorruptJob[];
  corruptTotal: number;
}

export function emptyTally(): MatchTally {
  return { queues: [], total: 0, corrupt: [], corruptTotal: 0 };
}

export interface MatchPage {
  queue: string;
  state: JobState;
  /** The matches of one page of ids, each met for the first time in this walk. */
  jobs: JobRecord[];
  cursor: PageCursor;
}

export interface MatchWalkOptions {
  /** No action runs during the walk: pages are prefetched. */
  readOnly: boolean;
  /** When the walk began (ms): failed and completed jobs that finished later are not met. */
  startedAt: number;
  /** Ids per page (default 1,000). */
  pageSize?: number;
}

/**
 * Every matching job of the given queues and states, a page at a time. Memory holds one page plus
 * the ids of the jobs matched so far, so that a job that moves to another state while we walk (a
 * delayed job coming due, a retried job failing again) is met, counted and acted on once only.
 * Finished jobs are walked up to `startedAt`, so a job that finishes during the walk is not met.
 */
export async function* walkMatches(
  client: RedisClient,
  prefix: string,
  queues: AsyncIterable<string> | Iterable<string>,
  f: CompiledFind,
  tally: MatchTally,
  opts: MatchWalkOptions,
): AsyncGenerator<MatchPage> {
  const until = f.until === undefined ? opts.startedAt : Math.min(f.until, opts.startedAt);
  for await (const queue of queues) {
    tally.queues.push(queue);
    const seen = new SeenIds();
    for (const state of f.states) {
      // Failed jobs are read field by field (their stack traces can be large); others whole, which costs Redis and this process less.
      const walk = { since: f.since, until, readOnly: opts.readOnly, pageSize: opts.pageSize, full: state !== 'failed' };
      for await (const page of walkState(client, prefix, queue, state, walk)) {
        const jobs: JobRecord[] = [];
        for (const e of page.entries) {
          const verdict = f.judge(e, state);
          if (!verdict || seen.has(e.id)) continue;
          seen.add(e.id);
          if (!verdict.ok) {
            tally.corruptTotal++;
            if (tally.corrupt.length < CORRUPT_LISTED) tally.corrupt.push({ ...verdict.corrupt, state });
            continue;
          }
          tally.total++;
          jobs.push(verdict.job);
        }
        yield { queue, state, jobs, cursor: page.cursor };
      }
    }
  }
}
