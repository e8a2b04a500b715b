import type { JobType, Queue } from 'bullmq';
import type { Config } from '../config/resolve.js';
import { ExitCode, RqctlError } from '../errors.js';
import type { RedisClient } from '../redis/connect.js';
import { discoverQueues, openQueue } from './queues.js';
import { execPipeline } from '../redis/pipeline.js';

/**
 * Queue-level operations: counts, pause/resume, clear. BullMQ does the work (its scripts keep
 * markers, events and job schedulers right); rqctl batches it and adds the checks an operator needs.
 */

export interface QueueStatus {
  name: string;
  /** Jobs ready to run: the wait list plus prioritized jobs (and jobs of BullMQ < 5's paused list). */
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  completed: number;
  /** Jobs held by a pause: the waiting jobs while the queue is paused (0 when it runs). */
  paused: number;
  /** Whether the queue is paused (`queue pause`). */
  isPaused: boolean;
  prioritized: number;
  /** Flow parents waiting for their children. */
  waitingChildren: number;
  /** False for a queue name that has no keys in Redis (a typo, or never used). */
  exists: boolean;
}

async function withQueue<T>(config: Config, client: RedisClient, name: string, fn: (q: Queue) => Promise<T>): Promise<T> {
  const q = openQueue(config, name, client);
  try {
    return await fn(q);
  } finally {
    await q.close().catch(() => {});
  }
}

export async function queueExists(config: Config, client: RedisClient, name: string): Promise<boolean> {
  return (await client.exists(`${config.queue.prefix}:${name}:meta`, `${config.queue.prefix}:${name}:id`)) > 0;
}

export async function statusOf(config: Config, client: RedisClient, name: string): Promise<QueueStatus> {
  // Opening a BullMQ Queue writes its meta key: never do that for a name that does not exist (a typo
  // in `--queue` must not create a queue).
  if (!(await queueExists(config, client, name))) {
    return { name, waiting: 0, active: 0, delayed: 0, failed: 0, completed: 0, paused: 0, isPaused: false, prioritized: 0, waitingChildren: 0, exists: false };
  }
  return withQueue(config, client, name, async (q) => {
    const [c, isPaused] = await Promise.all([
      // 'paused' is the list BullMQ < 5 moved jobs to on pause; BullMQ 5+ keeps them in 'wait'.
      q.getJobCounts('waiting', 'paused' as JobType, 'prioritized', 'delayed', 'active', 'failed', 'completed', 'waiting-children'),
      q.isPaused(),
    ]);
    const waiting = (c.waiting ?? 0) + (c.prioritized ?? 0) + (c.paused ?? 0);
    return {
      name,
      waiting,
      active: c.active ?? 0,
      delayed: c.delayed ?? 0,
      failed: c.failed ?? 0,
      completed: c.completed ?? 0,
      paused: isPaused ? waiting : (c.paused ?? 0),
      isPaused,
      prioritized: c.prioritized ?? 0,
      waitingChildren: c['waiting-children'] ?? 0,
      exists: true,
    };
  });
}

/** `queue status`: every queue found in Redis (plus the default ones), or the ones asked for. */
export async function queueStatus(config: Config, client: RedisClient, asked?: readonly string[]): Promise<{ queues: QueueStatus[] }> {
  const names = asked && asked.length ? [...new Set(asked)] : await discoverQueues(config, client);
  return { queues: await Promise.all(names.map((n) => statusOf(config, client, n))) };
}

/** Refuses a queue name that does not exist (pausing a typo would create it). The default queues always exist. */
async function knownQueue(config: Config, client: RedisClient, name: string): Promise<void> {
  const known = await discoverQueues(config, client);
  if (known.includes(name)) return;
  throw new RqctlError('QUEUE_NOT_FOUND', ExitCode.usage, `no queue "${name}" under prefix "${config.queue.prefix}"`, {
    hint: `known queues: ${known.join(', ')}; check the name and QUEUE_PREFIX`,
  });
}

export async function setPaused(
  config: Config,
  client: RedisClient,
  name: string,
  pause: boolean,
): Promise<{ queue: string; paused: boolean; changed: boolean }> {
  await knownQueue(config, client, name);
  return withQueue(config, client, name, async (q) => {
    const was = await q.isPaused();
    if (pause) await q.pause();
    else await q.resume();
    return { queue: name, paused: pause, changed: was !== pause };
  });
}

export interface ClearPlan {
  queue: string;
  waiting: number;
  delayed: number;
  /** Delayed jobs that carry a job scheduler's next run: never removed (the schedule would stop). */
  keptScheduled: number;
  total: number;
}

/** What `queue clear` would remove: the waiting (incl. prioritized) and delayed jobs, not the job schedulers' next runs. */
export async function planClear(config: Config, client: RedisClient, name: string): Promise<ClearPlan> {
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
 * `queue clear`: BullMQ's clean on wait, paused, prioritized and delayed, 1,000 jobs per script
 * call, until a call finds nothing left (new jobs arriving meanwhile are cleared too). Unlike
 * `Queue.drain()`, which removes everything in one script call and holds Redis for seconds on a large
 * backlog, no call blocks Redis for long. Job schedulers' next runs are kept (BullMQ skips them).
 */
export async function clearQueue(
  config: Config,
  client: RedisClient,
  name: string,
): Promise<{ queue: string; removed: number; waiting: number; delayed: number }> {
  await knownQueue(config, client, name);
  return withQueue(config, client, name, async (q) => {
    const counts = { waiting: 0, delayed: 0 };
    for (const state of ['wait', 'paused', 'prioritized', 'delayed'] as const) {
      for (;;) {
        const ids = await q.clean(0, 1000, state);
        if (state === 'delayed') counts.delayed += ids.length;
        else counts.waiting += ids.length;
        if (ids.length === 0) break;
      }
    }
    return { queue: name, removed: counts.waiting + counts.delayed, ...counts };
  });
}
