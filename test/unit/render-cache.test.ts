import { describe, expect, it } from 'vitest';
import { cacheClearQuestion, printCacheClear, printCacheStats } from '../../src/cli/render/cache.js';
import type { CacheClearPlan } from '../../src/cache/clear.js';
import type { CacheStats } from '../../src/cache/stats.js';
import { captureOutput } from '../helpers/output.js';

const stats: CacheStats = {
  prefix: 'laravel_cache_',
  db: 1,
  totalKeys: 1203,
  keysWithoutTtl: 2,
  dbSize: 1210,
  families: [
    {
      family: 'stock_quote',
      keys: 1200,
      noTtl: 0,
      duration: 1200,
      ttl: { min: 3, max: 1199, mean: 610 },
      buckets: { '0-25%': 300, '25-50%': 290, '50-75%': 310, '75-100%': 300, over: 0 },
    },
    { family: 'other', keys: 3, noTtl: 2, duration: null, ttl: { min: 50, max: 50, mean: 50 }, buckets: null },
  ],
  hitRatio: 0.9876,
  keyspaceHits: 9876,
  keyspaceMisses: 124,
  evictedKeys: 7,
  expiredKeys: 4321,
  usedMemory: 3 * 1024 * 1024,
  maxmemory: 256 * 1024 * 1024,
  maxmemoryPolicy: 'allkeys-lru',
  noTtlSample: ['laravel_cache_a', 'laravel_cache_b'],
};

describe('cache stats', () => {
  it('a row per key family, then the cache figures', () => {
    const { out, stdout, stderr } = captureOutput();
    printCacheStats(out, stats);
    const lines = stdout().split('\n');
    expect(lines[0]).toMatch(/^family\s+keys\s+no ttl\s+duration\s+ttl left min\/mean\/max\s+left 0-25% \| 25-50% \| 50-75% \| 75-100% \| over$/);
    expect(lines[1]).toMatch(/^stock_quote\s+1200\s+0\s+1200s\s+3\/610\/1199\s+300 \| 290 \| 310 \| 300 \| 0$/);
    expect(lines[2]).toMatch(/^other\s+3\s+2\s+-\s+50\/50\/50\s+-$/);
    expect(lines.slice(3)).toEqual([
      '',
      'keys         1203 under CACHE_PREFIX "laravel_cache_" (DB 1 holds 1210)',
      'without ttl  2 (e.g. laravel_cache_a, laravel_cache_b)',
      'hit ratio    98.8% (9876 hits, 124 misses since the server started, all DBs)',
      'evicted      7',
      'expired      4321',
      'memory       3.00M of 256.00M (allkeys-lru)',
      '',
    ]);
    expect(stderr()).toBe('');
  });

  it('--json: the stats object as is', () => {
    const { out, stdout } = captureOutput({ json: true });
    printCacheStats(out, stats);
    expect(JSON.parse(stdout())).toEqual(stats);
  });

  it('an empty cache on a server without limit', () => {
    const { out, stdout } = captureOutput();
    printCacheStats(out, { ...stats, prefix: '', totalKeys: 0, keysWithoutTtl: 0, dbSize: null, families: [], hitRatio: null, maxmemory: 0 });
    expect(stdout()).toContain('keys         0 (DB 1 holds ?)\nwithout ttl  0\nhit ratio    - (9876 hits');
    expect(stdout()).toContain('memory       3.00M of no limit (allkeys-lru)');
  });
});

describe('cache clear', () => {
  const plan: CacheClearPlan = {
    description: 'keys starting with "laravel_cache_stock_quote_"',
    prefixes: [Buffer.from('laravel_cache_stock_quote_')],
    match: Buffer.from('laravel_cache_stock_quote_*'),
    whole: false,
    cachePrefix: 'laravel_cache_',
  };
  const where = 'the cache role (redis://127.0.0.1:6400/1)';
  const result = {
    matched: 3,
    deleted: 3,
    dryRun: false,
    families: { stock_quote: 2, other: 1 },
    unlinkCalls: 1,
    slowestUnlinkMs: 0.42,
    interrupted: false,
    elapsedMs: 1234,
    sample: ['laravel_cache_stock_quote_x'],
  };

  it('the question, the summary by family, the pace on stderr; --json with the selection', () => {
    expect(cacheClearQuestion({ plan: { ...plan, whole: true, description: "every key of the cache role's DB 1" }, dbKeys: 42 }, where)).toBe(
      "Delete every key of the cache role's DB 1 in the cache role (redis://127.0.0.1:6400/1) (42 keys)?",
    );
    const human = captureOutput();
    printCacheClear(human.out, result, plan, where);
    expect(human.stdout()).toBe('deleted 3 keys: keys starting with "laravel_cache_stock_quote_"\n  by family: stock_quote 2, other 1\n');
    expect(human.stderr()).toBe('1 UNLINK calls in 1.2 s, slowest 0.42 ms\n');
    const dry = captureOutput();
    printCacheClear(dry.out, { ...result, dryRun: true, deleted: 0 }, plan, where);
    expect(dry.stdout()).toBe(
      `would delete 3 keys: keys starting with "laravel_cache_stock_quote_" in ${where}\n  by family: stock_quote 2, other 1\n  e.g. laravel_cache_stock_quote_x\n`,
    );
    // A "no" at the prompt reports like the other destructive commands (issue 13).
    const declined = captureOutput({ json: true });
    printCacheClear(declined.out, { declined: true }, plan, where);
    expect(JSON.parse(declined.stdout())).toEqual({ deleted: 0, declined: true });
    const declinedHuman = captureOutput();
    printCacheClear(declinedHuman.out, { declined: true }, plan, where);
    expect(declinedHuman.stdout()).toBe('');
    expect(declinedHuman.stderr()).toBe('not confirmed: nothing deleted\n');
    const json = captureOutput({ json: true });
    printCacheClear(json.out, { ...result, interrupted: true }, plan, where);
    expect(JSON.parse(json.stdout())).toEqual({
      deleted: 3,
      matched: 3,
      dryRun: false,
      families: result.families,
      interrupted: true,
      unlinkCalls: 1,
      slowestUnlinkMs: 0.42,
      elapsedMs: 1234,
      selection: plan.description,
    });
  });
});
