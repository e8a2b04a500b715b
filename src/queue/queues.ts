import { Queue, type ConnectionOptions, type DefaultJobOptions } from 'bullmq';
import type { Config } from '../config/resolve.js';
import { bullConnectionOptions, type ConnectionUse, type RedisClient } from '../redis/connect.js';

/**
 * BullMQ connection for the queue role. Pass an open client to share it (one-shot commands); without
 * one BullMQ creates its own from options (workers: `maxRetriesPerRequest: null`, reconnect forever).
 */
export function queueConnection(config: Config, use: ConnectionUse, client?: RedisClient): ConnectionOptions {
  if (client) return client as unknown as ConnectionOptions;
  const ep = config.roles.queue;
  if (ep.kind === 'cluster') {
    // BullMQ accepts an ioredis Cluster instance; callers on a cluster pass `client`.
    throw new Error('a Redis Cluster queue needs an open client: call connectRole(config, "queue") first');
  }
  return bullConnectionOptions(ep, use, config.redis.connectTimeoutMs) as ConnectionOptions;
}

/** Retention of finished jobs (docs/jobs.md): completed 24 h / 10,000, failed 30 days / 100,000. */
export function retention(config: Config): Pick<DefaultJobOptions, 'removeOnComplete' | 'removeOnFail'> {
  return {
    removeOnComplete: { age: config.queue.keepCompleted.age, count: config.queue.keepCompleted.count },
    removeOnFail: { age: config.queue.keepFailed.age, count: config.queue.keepFailed.count },
  };
}

/**
 * Keeps a BullMQ object (Queue, QueueEvents, FlowProducer) from printing its connection's errors.
 * BullMQ writes an `error` event nobody listens to with console.error, the whole error: when Redis
 * refuses a reconnect (a rotated password), that is the AUTH command with the old password, on
 * every attempt. rqctl reports its connections' errors itself (masked, one line: src/redis/connect.ts),
 * and a failed call still rejects; the event itself adds nothing.
 */
export function quietErrors<T extends { on(event: 'error', listener: (e: Error) => void): unknown }>(bull: T): T {
  bull.on('error', () => {});
  return bull;
}

/** A BullMQ Queue on the queue role with rqctl's prefix and retention. The caller closes it. */
export function openQueue(config: Config, name: string, client?: RedisClient, use: ConnectionUse = 'oneshot'): Queue {
  return quietErrors(
    new Queue(name, {
      connection: queueConnection(config, use, client),
      prefix: config.queue.prefix,
      defaultJobOptions: retention(config),
    }),
  );
}

/**
 * Opens one BullMQ Queue per name on the shared client (when first asked for) and closes them all
 * when `fn` returns.
 */
export async function withQueues<T>(config: Config, client: RedisClient, fn: (queue: (name: string) => Queue) => Promise<T>): Promise<T> {
  const open = new Map<string, Queue>();
  const queue = (name: string) => {
    let q = open.get(name);
    if (!q) {
      q = openQueue(config, name, client);
      open.set(name, q);
    }
    return q;
  };
  try {
    return await fn(queue);
  } finally {
    await Promise.all([...open.values()].map((q) => q.close().catch(() => {})));
  }
}

// Finding the queues needs no BullMQ (a read-only walk never loads it): see discover.ts.
export { discoverQueues, resolveQueues } from './discover.js';
