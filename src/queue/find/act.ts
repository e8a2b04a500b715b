import { Job, type Queue } from 'bullmq';
import type { Config } from '../../config/resolve.js';
import type { RedisClient } from '../../redis/connect.js';
import { execPipeline } from '../../redis/pipeline.js';
import { DECLINED, type Confirm, type Declined } from '../../util/confirm.js';
import { queuesToWalk } from '../discover.js';
import { withQueues } from '../queues.js';
import type { JobRecord } from '../walk/job-hash.js';
import type { JobState } from '../walk/states.js';
import { compileFind, type CompiledFind, type FindFilter } from './filter.js';
import { emptyTally, walkMatches, type MatchTally } from './matches.js';
import { removeInState } from './remove-in-state.js';

/**
 * `jobs find --retry | --remove | --promote`: the action on the matches only, a page (1,000 jobs) at
 * a time, through BullMQ's own scripts, which check the job's state atomically as they act. A job
 * that moved meanwhile is skipped and reported ("no longer delayed"), never acted on in another
 * state; the walk meets each job once, so none is acted on twice.
 */
export type JobAction = 'retry' | 'remove' | 'promote';

export interface SkippedMatch {
  id: string;
  queue: string;
  state: JobState;
  reason: string;
}

export interface ActionPlan {
  action: JobAction;
  /** Matches now (the count the operator confirms). */
  total: number;
  /** The jobs the action would touch: `total`, or `limit` when smaller. */
  count: number;
  queues: string[];
  states: JobState[];
}

export interface ActionResult extends MatchTally {
  action: JobAction;
  /** Jobs retried / removed / promoted (a dry run: that would be). */
  acted: number;
  dryRun: boolean;
  skipped: SkippedMatch[];
  states: JobState[];
  /** Queues that got jobs back (retry, promote) but are paused: nothing runs them until `queue resume`. */
  pausedQueues: string[];
}

export interface ActionRequest {
  filter: FindFilter;
  action: JobAction;
  /** At most this many jobs are acted on (0 = every match); `total` still counts all. */
  limit: number;
  dryRun?: boolean;
  /** Asked with a count of the matches before anything changes (not for a dry run, nor when nothing matches). */
  confirm?: Confirm<ActionPlan>;
}

/** Skipped jobs listed in a result (the count is in `total - acted`). */
const SKIPPED_LISTED = 1000;

/** BullMQ's codes (its ErrorCode enum) → what happened, in the operator's words. */
export function skipReasonOf(err: unknown, state: JobState): string {
  const code = (err as { code?: unknown })?.code;
  if (code === -3) return `no longer ${state} (it moved meanwhile)`;
  if (code === -1) return 'gone (removed meanwhile)';
  if (code === -8) return "a job scheduler's next run: `rqctl schedule sync` or the scheduler removes it";
  if (code === 0) return 'locked by a worker (it is running)';
  return String((err as Error)?.message ?? err).split('\n')[0];
}

type Outcome = { moved: string[]; skipped: SkippedMatch[] };

async function settle(jobs: readonly JobRecord[], state: JobState, run: (job: JobRecord) => Promise<unknown>): Promise<Outcome> {
  const results = await Promise.allSettled(jobs.map(run));
  const out: Outcome = { moved: [], skipped: [] };
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') out.moved.push(jobs[i].id);
    else out.skipped.push({ id: jobs[i].id, queue: jobs[i].queue, state, reason: skipReasonOf(r.reason, state) });
  });
  return out;
}

/** One page of matches through BullMQ, all of the page in flight at once (ioredis writes them back to back). */
async function runBatch(action: JobAction, client: RedisClient, prefix: string, queue: Queue, state: JobState, jobs: readonly JobRecord[]): Promise<Outcome> {
  // Only the id (and opts.lifo for a retry) matter to BullMQ's scripts: no job is re-read or re-serialised.
  const handle = (j: JobRecord) => new Job(queue, j.name, undefined, { lifo: j.opts.lifo === true }, j.id);
  if (action === 'retry') return settle(jobs, state, (j) => handle(j).retry(state as 'failed' | 'completed'));
  if (action === 'promote') return settle(jobs, state, (j) => handle(j).promote());
  const codes = await removeInState(
    client,
    prefix,
    jobs[0].queue,
    state,
    jobs.map((j) => j.id),
  );
  const out: Outcome = { moved: [], skipped: [] };
  codes.forEach((code, i) => {
    if (code === 1) out.moved.push(jobs[i].id);
    else out.skipped.push({ id: jobs[i].id, queue: jobs[i].queue, state, reason: skipReasonOf({ code }, state) });
  });
  return out;
}

/** Counts the matches (for the confirmation), acting on nothing. */
async function countMatches(config: Config, client: RedisClient, f: CompiledFind): Promise<MatchTally> {
  const tally = emptyTally();
  for await (const _page of walkMatches(client, config.queue.prefix, queuesToWalk(config, client, f.queues), f, tally, {
    readOnly: true,
    startedAt: Date.now(),
  }));
  return tally;
}

export async function actOnJobs(config: Config, client: RedisClient, request: ActionRequest): Promise<ActionResult | Declined> {
  const f = compileFind(request.filter);
  const prefix = config.queue.prefix;
  const dryRun = !!request.dryRun;
  if (request.confirm && !dryRun) {
    const { total, queues } = await countMatches(config, client, f);
    const count = request.limit > 0 ? Math.min(total, request.limit) : total;
    if (count > 0 && !(await request.confirm({ action: request.action, total, count, queues, states: f.states }))) return DECLINED;
  }
  const result: ActionResult = { ...emptyTally(), action: request.action, acted: 0, dryRun, skipped: [], states: f.states, pausedQueues: [] };
  const touched = new Set<string>();
  await withQueues(config, client, async (queue) => {
    for await (const page of walkMatches(client, prefix, queuesToWalk(config, client, f.queues), f, result, { readOnly: dryRun, startedAt: Date.now() })) {
      const room = request.limit > 0 ? request.limit - result.acted : page.jobs.length;
      const batch = page.jobs.slice(0, Math.max(0, room));
      if (batch.length === 0) continue;
      if (dryRun) {
        result.acted += batch.length;
        continue;
      }
      // A BullMQ Queue is opened only to act: opening one writes its meta key.
      const { moved, skipped } = await runBatch(request.action, client, prefix, queue(page.queue), page.state, batch);
      page.cursor.removed(moved);
      result.acted += moved.length;
      if (moved.length) touched.add(page.queue);
      for (const s of skipped) if (result.skipped.length < SKIPPED_LISTED) result.skipped.push(s);
    }
  });
  if (request.action !== 'remove' && touched.size) result.pausedQueues = await pausedAmong(client, prefix, [...touched]);
  return result;
}

/** Jobs moved to waiting in a paused queue wait for `queue resume`: say so rather than let them sit unseen. */
async function pausedAmong(client: RedisClient, prefix: string, queues: string[]): Promise<string[]> {
  const pipe = client.pipeline();
  for (const q of queues) pipe.hexists(`${prefix}:${q}:meta`, 'paused');
  const replies = await execPipeline(pipe);
  return queues.filter((_, i) => replies[i]?.[1] === 1);
}
