import { Queue, type ConnectionOptions, type DefaultJobOptions } from 'bullmq';
import type { Config } from '../config/resolve.js';
import { bullConnectionOptions, type ConnectionUse, type RedisClient } from '../redis/connect.js';
import { globEscape } from '../redis/keyname.js';

/** The queues rqctl's bundled jobs use. Workers consume these by default. */
export const DEFAULT_QUEUES = ['default', 'emails'] as const;

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

/** A BullMQ Queue on the queue role with rqctl's prefix and retention. The caller closes it. */
export function openQueue(config: Config, name: string, client?: RedisClient, use: ConnectionUse = 'oneshot'): Queue {
  return new Queue(name, {
    connection: queueConnection(config, use, client),
    prefix: config.queue.prefix,
    defaultJobOptions: retention(config),
  });
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

/** The queues a command looks at: the ones asked for (each once), else every queue found in Redis. */
export async function resolveQueues(config: Config, client: RedisClient, asked?: readonly string[]): Promise<string[]> {
  if (asked && asked.length) return [...new Set(asked)];
  return discoverQueues(config, client);
}

/**
 * Every queue that exists in Redis under the prefix (BullMQ writes `<prefix>:<name>:meta`), plus the
 * default ones. SCAN, never KEYS.
 */
export async function discoverQueues(config: Config, client: RedisClient): Promise<string[]> {
  const names = new Set<string>(DEFAULT_QUEUES);
  const prefix = config.queue.prefix;
  const scanOne = async (node: RedisClient) => {
    let cursor = '0';
    do {
      const [next, keys] = (await node.scan(cursor, 'MATCH', `${globEscape(prefix).toString('utf8')}:*:meta`, 'COUNT', 1000)) as [string, string[]];
      cursor = next;
      for (const k of keys) names.add(k.slice(prefix.length + 1, -':meta'.length));
    } while (cursor !== '0');
  };
  if ('nodes' in client && typeof client.nodes === 'function') await Promise.all(client.nodes('master').map((n) => scanOne(n)));
  else await scanOne(client);
  return [...names].sort();
}
