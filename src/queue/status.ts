import type { JobType } from 'bullmq';
import type { Config } from '../config/resolve.js';
import { ExitCode, RqctlError } from '../errors.js';
import type { RedisClient } from '../redis/connect.js';
import { execPipeline } from '../redis/pipeline.js';
import { discoverQueues, resolveQueues, withQueues } from './queues.js';

/**
 * Queue-level operations: counts, pause/resume (and clear, in clear.ts). BullMQ does the work (its
 * scripts keep markers, events and job schedulers right); rqctl adds the checks an operator needs.
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

export async function queueExists(config: Config, client: RedisClient, name: string): Promise<boolean> {
  return (await client.exists(`${config.queue.prefix}:${name}:meta`, `${config.queue.prefix}:${name}:id`)) > 0;
}

export async function statusOf(config: Config, client: RedisClient, name: string): Promise<QueueStatus> {
  // Opening a BullMQ Queue writes its meta key: never do that for a name that does not exist (a typo
  // in `--queue` must not create a queue).
  if (!(await queueExists(config, client, name))) {
    return { name, waiting: 0, active: 0, delayed: 0, failed: 0, completed: 0, paused: 0, isPaused: false, prioritized: 0, waitingChildren: 0, exists: false };
  }
  return withQueues(config, client, async (queue) => {
    const q = queue(name);
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
  const names = await resolveQueues(config, client, asked);
  return { queues: await Promise.all(names.map((n) => statusOf(config, client, n))) };
}

/** Refuses a queue name that does not exist (pausing a typo would create it). The default queues always exist. */
export async function knownQueue(config: Config, client: RedisClient, name: string): Promise<void> {
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
  return withQueues(config, client, async (queue) => {
    const q = queue(name);
    const was = await q.isPaused();
    if (pause) await q.pause();
    else await q.resume();
    return { queue: name, paused: pause, changed: was !== pause };
  });
}

/**
 * The counts of many queues in one round trip: the keys BullMQ's `getJobCounts` reads, pipelined.
 * For views that refresh every few seconds (the dashboard), where opening a BullMQ Queue per read
 * would cost more than the counts themselves. Names that do not exist count 0 (nothing is created).
 */
export async function queueCounts(config: Config, client: RedisClient, names: readonly string[]): Promise<QueueStatus[]> {
  const k = (q: string, s: string) => `${config.queue.prefix}:${q}:${s}`;
  const pipe = client.pipeline();
  for (const q of names) {
    pipe
      .llen(k(q, 'wait'))
      .llen(k(q, 'paused'))
      .zcard(k(q, 'prioritized'))
      .zcard(k(q, 'delayed'))
      .llen(k(q, 'active'))
      .zcard(k(q, 'failed'))
      .zcard(k(q, 'completed'))
      .zcard(k(q, 'waiting-children'))
      .hexists(k(q, 'meta'), 'paused')
      .exists(k(q, 'meta'), k(q, 'id'));
  }
  const PER = 10;
  const r = (await execPipeline(pipe)).map(([err, v]) => (err ? 0 : Number(v) || 0));
  return names.map((name, i) => {
    const at = (j: number) => r[i * PER + j];
    const isPaused = at(8) === 1;
    const waiting = at(0) + at(1) + at(2);
    return {
      name,
      waiting,
      active: at(4),
      delayed: at(3),
      failed: at(5),
      completed: at(6),
      paused: isPaused ? waiting : at(1),
      isPaused,
      prioritized: at(2),
      waitingChildren: at(7),
      exists: at(9) > 0,
    };
  });
}
