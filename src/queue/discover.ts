import type { Config } from '../config/resolve.js';
import type { RedisClient } from '../redis/connect.js';
import { globEscape } from '../redis/keyname.js';

/** The queues rqctl's bundled jobs use. Workers consume these by default. */
export const DEFAULT_QUEUES = ['default', 'emails'] as const;

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

/**
 * The queues a walk goes through, as it reaches them: the ones asked for; else the default queues at
 * once and the others when the SCAN for them is done. The SCAN runs while the default queues are
 * walked (one connection: its calls pipeline with the walk's), so a queue role holding millions of
 * keys costs no wait before the first page.
 */
export async function* queuesToWalk(config: Config, client: RedisClient, asked?: readonly string[]): AsyncGenerator<string> {
  if (asked && asked.length) {
    yield* new Set(asked);
    return;
  }
  const discovering = discoverQueues(config, client);
  // Handled when awaited below; until then a failure must not count as unhandled.
  discovering.catch(() => {});
  for (const q of DEFAULT_QUEUES) yield q;
  for (const q of await discovering) if (!(DEFAULT_QUEUES as readonly string[]).includes(q)) yield q;
}
