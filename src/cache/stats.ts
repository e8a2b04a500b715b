import type { Redis } from 'ioredis';
import type { Config } from '../config/resolve.js';
import type { RedisClient } from '../redis/connect.js';
import { escapeKey, globEscape } from '../redis/keyname.js';
import { scanBatches, scanTargets } from '../redis/scan.js';
import { roleStats } from '../redis/stats.js';
import { CACHE_FAMILIES, familyDuration, familyOf, type CacheFamily } from './families.js';

/**
 * `cache stats`: what the cache holds per key family, how old it is against the configured TTL, and
 * how well it serves (hit ratio, evictions). One SCAN over the cache keys with PTTL pipelined per
 * batch; only counters are kept, so memory stays flat.
 */

/** TTL left as a share of the configured duration: fresh keys sit near 100 %, stale ones near 0. */
export const TTL_BUCKETS = ['0-25%', '25-50%', '50-75%', '75-100%', 'over'] as const;
export type TtlBucket = (typeof TTL_BUCKETS)[number];

export interface FamilyStats {
  family: string;
  keys: number;
  /** Keys without expiry: they never refresh away and survive until evicted. */
  noTtl: number;
  /** Configured TTL (seconds) for this family; null for `other`. */
  duration: number | null;
  /** Remaining TTL in seconds over keys that have one. */
  ttl: { min: number; max: number; mean: number } | null;
  /** Keys per remaining-TTL bucket (share of `duration`; `over` = longer than configured). */
  buckets: Record<TtlBucket, number> | null;
}

export interface CacheStats {
  prefix: string;
  db: number;
  /** Keys scanned (under CACHE_PREFIX when set). */
  totalKeys: number;
  keysWithoutTtl: number;
  /** DBSIZE of the cache role's DB (includes keys outside CACHE_PREFIX). */
  dbSize: number | null;
  families: FamilyStats[];
  /** Server-wide (INFO stats counts every DB of the server since it started). */
  hitRatio: number | null;
  keyspaceHits: number;
  keyspaceMisses: number;
  evictedKeys: number;
  expiredKeys: number;
  usedMemory: number;
  maxmemory: number;
  maxmemoryPolicy: string | null;
  /** A few keys without TTL, escaped. */
  noTtlSample: string[];
}

interface Acc {
  keys: number;
  noTtl: number;
  min: number;
  max: number;
  sum: number;
  withTtl: number;
  buckets: Record<TtlBucket, number>;
}

const newAcc = (): Acc => ({
  keys: 0,
  noTtl: 0,
  min: Infinity,
  max: -Infinity,
  sum: 0,
  withTtl: 0,
  buckets: { '0-25%': 0, '25-50%': 0, '50-75%': 0, '75-100%': 0, over: 0 },
});

function bucketOf(ttl: number, duration: number): TtlBucket {
  const share = ttl / duration;
  if (share > 1) return 'over';
  if (share > 0.75) return '75-100%';
  if (share > 0.5) return '50-75%';
  if (share > 0.25) return '25-50%';
  return '0-25%';
}

async function pttls(node: Redis, keys: Buffer[]): Promise<number[]> {
  const p = node.pipeline();
  for (const k of keys) p.pttl(k);
  const res = (await p.exec()) ?? [];
  return res.map(([err, v]) => (err ? -2 : Number(v)));
}

export async function cacheStats(
  client: RedisClient,
  config: Config,
  opts: { signal?: AbortSignal; onProgress?: (n: number) => void } = {},
): Promise<CacheStats> {
  const prefix = config.cache.prefix;
  const prefixLen = Buffer.byteLength(prefix);
  const accs = new Map<string, Acc>();
  const noTtlSample: string[] = [];
  let total = 0;
  let noTtl = 0;
  const match = prefix ? Buffer.concat([globEscape(prefix), Buffer.from('*')]) : undefined;
  for await (const { node, keys } of scanBatches(client, { match, signal: opts.signal })) {
    const ttls = await pttls(node, keys);
    for (let i = 0; i < keys.length; i++) {
      const ms = ttls[i];
      if (ms === -2) continue; // gone since SCAN
      const family: string = familyOf(keys[i], prefixLen) ?? 'other';
      let acc = accs.get(family);
      if (!acc) accs.set(family, (acc = newAcc()));
      acc.keys++;
      total++;
      if (ms === -1) {
        acc.noTtl++;
        noTtl++;
        if (noTtlSample.length < 5) noTtlSample.push(escapeKey(keys[i]));
        continue;
      }
      const s = ms / 1000;
      acc.withTtl++;
      acc.sum += s;
      if (s < acc.min) acc.min = s;
      if (s > acc.max) acc.max = s;
      if (family !== 'other') acc.buckets[bucketOf(s, familyDuration(config, family as CacheFamily))]++;
    }
    opts.onProgress?.(total);
  }
  const families: FamilyStats[] = [];
  for (const family of [...CACHE_FAMILIES, 'other']) {
    const acc = accs.get(family);
    if (!acc && family === 'other') continue;
    const a = acc ?? newAcc();
    const known = family !== 'other';
    families.push({
      family,
      keys: a.keys,
      noTtl: a.noTtl,
      duration: known ? familyDuration(config, family as CacheFamily) : null,
      ttl: a.withTtl ? { min: Math.round(a.min), max: Math.round(a.max), mean: Math.round(a.sum / a.withTtl) } : null,
      buckets: known ? a.buckets : null,
    });
  }
  const server = await roleStats(config, 'cache', client);
  let dbSize: number | null = null;
  try {
    dbSize = (await Promise.all(scanTargets(client).map((n) => n.dbsize()))).reduce((a, b) => a + Number(b), 0);
  } catch {
    /* DBSIZE refused by an ACL */
  }
  return {
    prefix,
    db: config.roles.cache.db,
    totalKeys: total,
    keysWithoutTtl: noTtl,
    dbSize,
    families,
    hitRatio: server.hitRatio,
    keyspaceHits: server.keyspaceHits,
    keyspaceMisses: server.keyspaceMisses,
    evictedKeys: server.evictedKeys,
    expiredKeys: server.expiredKeys,
    usedMemory: server.usedMemory,
    maxmemory: server.maxmemory,
    maxmemoryPolicy: server.maxmemoryPolicy,
    noTtlSample,
  };
}
