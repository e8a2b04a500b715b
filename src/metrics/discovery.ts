import type { Config } from '../config/resolve.js';
import { CACHE_FAMILIES, familyOf } from '../cache/families.js';
import { discoverQueues } from '../queue/queues.js';
import type { RedisClient } from '../redis/connect.js';
import { globEscape } from '../redis/keyname.js';
import { scanBatches } from '../redis/scan.js';
import { cachedValue, type Cached, type CachedSpec } from './cached.js';
import { metricsKeys } from './keys.js';

/**
 * The two figures that need a SCAN, computed at most so often and shared through the queue role
 * (cached.ts): the queues that exist (every minute) and the cache keys per family (every 5 minutes).
 */

export const QUEUES_MAX_AGE_MS = 60_000;
export const CACHE_KEYS_MAX_AGE_MS = 300_000;

function queuesSpec(config: Config, queueClient: RedisClient): CachedSpec<string[]> {
  const keys = metricsKeys(config.queue.prefix);
  return {
    key: keys.queues,
    lockKey: keys.lock('queues'),
    maxAgeMs: QUEUES_MAX_AGE_MS,
    lockTtlMs: 120_000,
    compute: () => discoverQueues(config, queueClient),
  };
}

function cacheKeysSpec(config: Config, queueClient: RedisClient, cacheClient: RedisClient): CachedSpec<Record<string, number>> {
  const keys = metricsKeys(config.queue.prefix);
  return {
    key: keys.cacheKeys,
    lockKey: keys.lock('cache-keys'),
    maxAgeMs: CACHE_KEYS_MAX_AGE_MS,
    // A SCAN of millions of keys takes a while; a crashed exporter's lock lapses in time for the next round.
    lockTtlMs: 600_000,
    compute: () => countCacheKeys(config, cacheClient),
  };
}

/** Keys under CACHE_PREFIX per key family (`other` for the rest), one SCAN. */
export async function countCacheKeys(config: Config, cacheClient: RedisClient): Promise<Record<string, number>> {
  const prefix = config.cache.prefix;
  const prefixLen = Buffer.byteLength(prefix);
  const counts: Record<string, number> = Object.fromEntries(CACHE_FAMILIES.map((f) => [f, 0]));
  counts.other = 0;
  const match = prefix ? Buffer.concat([globEscape(prefix), Buffer.from('*')]) : undefined;
  for await (const { keys } of scanBatches(cacheClient, { match })) for (const k of keys) counts[familyOf(k, prefixLen) ?? 'other']++;
  return counts;
}

export interface DiscoveryOptions {
  /** With no value kept yet, how long to wait for the first one. */
  waitMs: number;
  onError?: (e: Error) => void;
}

/** The queues that exist, as last discovered (and every queue a live worker consumes, added by the caller). */
export async function knownQueues(config: Config, queueClient: RedisClient, options: DiscoveryOptions): Promise<string[]> {
  const v = await cachedValue(queueClient, queuesSpec(config, queueClient), options);
  return v?.value ?? [];
}

export function cacheKeyCounts(
  config: Config,
  queueClient: RedisClient,
  cacheClient: RedisClient,
  options: DiscoveryOptions,
): Promise<Cached<Record<string, number>> | undefined> {
  return cachedValue(queueClient, cacheKeysSpec(config, queueClient, cacheClient), options);
}

/** Recomputes both now when stale (`rqctl metrics` does it at start and on a timer, so scrapes never wait). */
export async function refreshDiscovery(config: Config, queueClient: RedisClient, cacheClient: RedisClient | undefined): Promise<void> {
  await knownQueues(config, queueClient, { waitMs: 0 });
  if (cacheClient) await cacheKeyCounts(config, queueClient, cacheClient, { waitMs: 0 });
}
