import type { Config } from '../config/resolve.js';
import type { RedisClient } from '../redis/connect.js';
import { execPipeline } from '../redis/pipeline.js';
import { DECLINED, type Confirm, type Declined } from '../util/confirm.js';
import { withQueues } from './queues.js';
import { knownQueue } from './status.js';

/** `queue clear`: the jobs waiting to run go, the running, finished and scheduled ones stay. */

export interface QueueClearPlan {
  queue: string;
  waiting: number;
  delayed: number;
  /** Delayed jobs that carry a job scheduler's next run: never removed (the schedule would stop). */
  keptScheduled: number;
  total: number;
}

export interface QueueClearResult {
  queue: string;
  removed: number;
  waiting: number;
  delayed: number;
  dryRun: boolean;
}

/** What `queue clear` would remove: the waiting (incl. prioritized) and delayed jobs, not the job schedulers' next runs. */
export async function planQueueClear(config: Config, client: RedisClient, name: string): Promise<QueueClearPlan> {
  await knownQueue(config, client, name);
  const k = (s: string) => `${config.queue.prefix}:${name}:${s}`;
  const [wait, pausedList, prioritized, delayed, schedulers] = (
    await execPipeline(
      client.pipeline().llen(k('wait')).llen(k('paused')).zcard(k('prioritized')).zcard(k('delayed')).zrange(k('repeat'), '0', '-1', 'WITHSCORES'),
    )
  ).map(([err, v]) => (err ? null : v)) as [number, number, number, number, string[] | null];
  // A job scheduler's pending run is the delayed job "repeat:<scheduler>:<millis>".
  let keptScheduled = 0;
  const sched = schedulers ?? [];
  if (sched.length) {
    const pipe = client.pipeline();
    for (let i = 0; i < sched.length; i += 2) pipe.zscore(k('delayed'), `repeat:${sched[i]}:${sched[i + 1]}`);
    keptScheduled = (await execPipeline(pipe)).filter(([err, v]) => !err && v !== null).length;
  }
  const waiting = (wait ?? 0) + (pausedList ?? 0) + (prioritized ?? 0);
  const delayedRemovable = Math.max(0, (delayed ?? 0) - keptScheduled);
  return { queue: name, waiting, delayed: delayedRemovable, keptScheduled, total: waiting + delayedRemovable };
}

/**
 * BullMQ's clean on wait, paused, prioritized and delayed, 1,000 jobs per script call, until a call
 * finds nothing left (new jobs arriving meanwhile are cleared too). Unlike `Queue.drain()`, which
 * removes everything in one script call and holds Redis for seconds on a large backlog, no call
 * blocks Redis for long. Job schedulers' next runs are kept (BullMQ skips them).
 */
async function removeWaitingJobs(config: Config, client: RedisClient, name: string): Promise<{ waiting: number; delayed: number }> {
  await knownQueue(config, client, name);
  return withQueues(config, client, async (queue) => {
    const q = queue(name);
    const counts = { waiting: 0, delayed: 0 };
    for (const state of ['wait', 'paused', 'prioritized', 'delayed'] as const) {
      for (;;) {
        const ids = await q.clean(0, 1000, state);
        if (state === 'delayed') counts.delayed += ids.length;
        else counts.waiting += ids.length;
        if (ids.length === 0) break;
      }
    }
    return counts;
  });
}

/**
 * `queue clear`: counts what would go (an unknown queue is exit 2), asks with that plan (not for a
 * dry run, nor when nothing would go), then removes the waiting and delayed jobs.
 */
export async function clearQueue(
  config: Config,
  client: RedisClient,
  name: string,
  request: { dryRun?: boolean; confirm?: Confirm<QueueClearPlan> } = {},
): Promise<QueueClearResult | Declined> {
  const plan = await planQueueClear(config, client, name);
  if (request.dryRun || plan.total === 0) return { queue: name, removed: plan.total, waiting: plan.waiting, delayed: plan.delayed, dryRun: !!request.dryRun };
  if (request.confirm && !(await request.confirm(plan))) return DECLINED;
  const removed = await removeWaitingJobs(config, client, name);
  return { queue: name, removed: removed.waiting + removed.delayed, ...removed, dryRun: false };
}
