import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CACHE_FAMILIES, CRYPTO_FAMILIES, familyDuration, familyOf } from '../../src/cache/families.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { cacheDuration, FETCH_METHODS } from '../../src/jobs/fetch/methods.js';

describe('cache families (what cache stats and clear count) match the fetch jobs', () => {
  const config = resolveConfig({
    env: { CRYPTO_CACHE_DURATION: '900', STOCK_CACHE_DURATION: '1800' },
    flags: {},
    cwd: mkdtempSync(join(tmpdir(), 'rqctl-fam-')),
  });

  it('lists every family a fetch method writes, with the same configured duration', () => {
    const methods = [...FETCH_METHODS.values()];
    expect([...CACHE_FAMILIES].sort()).toEqual([...new Set(methods.map((m) => m.family))].sort());
    for (const m of methods) expect(familyDuration(config, m.family as (typeof CACHE_FAMILIES)[number])).toBe(cacheDuration(config, m));
  });

  it('the default tags are exactly the crypto and stock families', () => {
    expect(config.cache.tags.crypto).toEqual([...CRYPTO_FAMILIES]);
    expect([...config.cache.tags.crypto, ...config.cache.tags.stock].sort()).toEqual([...CACHE_FAMILIES].sort());
  });

  it('classifies a key after CACHE_PREFIX', () => {
    expect(familyOf(Buffer.from('app:stock_quote_0123'), 4)).toBe('stock_quote');
    expect(familyOf(Buffer.from('app:stock_quote_'), 4)).toBeUndefined();
    expect(familyOf(Buffer.from('laravel_cache:x'), 0)).toBeUndefined();
  });
});
