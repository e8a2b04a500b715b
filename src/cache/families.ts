import type { Config } from '../config/resolve.js';

/**
 * The cache key families of the fetch jobs (docs/jobs.md). A key is
 * `CACHE_PREFIX + family + "_" + md5hex(canonicalJson(params))`; the key contract itself lives with
 * the jobs (src/cache/key.ts, docs/jobs.md). Here only the family names matter: to count, age and clear keys.
 */
export const CRYPTO_FAMILIES = ['crypto_list', 'crypto_detail', 'crypto_prices', 'crypto_trending', 'crypto_chart'] as const;
export const STOCK_FAMILIES = ['stock_list', 'stock_quote', 'stock_profile', 'market_news', 'stock_chart'] as const;
export const CACHE_FAMILIES = [...CRYPTO_FAMILIES, ...STOCK_FAMILIES] as const;
export type CacheFamily = (typeof CACHE_FAMILIES)[number];

/** The configured TTL (seconds) of a family's keys: CRYPTO_CACHE_DURATION or STOCK_CACHE_DURATION. */
export function familyDuration(config: Config, family: CacheFamily): number {
  return (CRYPTO_FAMILIES as readonly string[]).includes(family) ? config.cache.cryptoDuration : config.cache.stockDuration;
}

const familyPrefixes = CACHE_FAMILIES.map((f) => ({ family: f, bytes: Buffer.from(`${f}_`) }));

/**
 * The family of a key, given the key and the length of CACHE_PREFIX already checked; undefined for
 * keys of no known family (the app's own cache entries, say).
 */
export function familyOf(key: Buffer, prefixLength: number): CacheFamily | undefined {
  for (const { family, bytes } of familyPrefixes) {
    if (key.length > prefixLength + bytes.length && key.subarray(prefixLength, prefixLength + bytes.length).equals(bytes)) return family;
  }
  return undefined;
}
