import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planCacheClear } from '../../src/cache/clear.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { RqctlError } from '../../src/errors.js';

const config = (env: Record<string, string> = {}) =>
  resolveConfig({ env: { REDIS_URL: 'redis://127.0.0.1:7000/0', ...env }, flags: {}, cwd: mkdtempSync(join(tmpdir(), 'rqctl-plan-')) });
const refused = (fn: () => unknown): RqctlError => {
  try {
    fn();
  } catch (e) {
    if (e instanceof RqctlError) return e;
    throw e;
  }
  throw new Error('expected a refusal');
};

describe('cache clear: what a selection means', () => {
  it('--prefix is relative to CACHE_PREFIX and literal (glob characters escaped)', () => {
    const p = planCacheClear(config({ CACHE_PREFIX: 'app*:' }), { prefixes: ['stock_quote_'] });
    expect(p.prefixes.map(String)).toEqual(['app*:stock_quote_']);
    expect(p.match.toString()).toBe('app\\*:stock_quote_*');
    expect(p.whole).toBe(false);
  });

  it('--tag crypto selects the five crypto families; crypto + stock share only CACHE_PREFIX', () => {
    const p = planCacheClear(config({ CACHE_PREFIX: 'c:' }), { tags: ['crypto'] });
    expect(p.prefixes.map(String)).toEqual(['c:crypto_list_', 'c:crypto_detail_', 'c:crypto_prices_', 'c:crypto_trending_', 'c:crypto_chart_']);
    expect(p.match.toString()).toBe('c:crypto_*');
    const both = planCacheClear(config({ CACHE_PREFIX: 'c:' }), { tags: ['crypto', 'stock'] });
    expect(both.prefixes).toHaveLength(10);
    expect(both.match.toString()).toBe('c:*');
  });

  it('an unknown tag is a usage error (exit 2) naming the known tags', () => {
    const e = refused(() => planCacheClear(config(), { tags: ['nope'] }));
    expect(e.exitCode).toBe(2);
    expect(e.hint).toContain('crypto, stock');
  });

  it("no selector: every key under CACHE_PREFIX, or the whole cache DB when it is the cache's alone", () => {
    expect(planCacheClear(config({ CACHE_PREFIX: 'app:' }), {}).match.toString()).toBe('app:*');
    const whole = planCacheClear(config(), {});
    expect(whole.whole).toBe(true);
    expect(whole.match.length).toBe(0);
  });

  it('refuses a whole clear that would reach the queue or sessions (shared DB, or a cluster)', () => {
    expect(refused(() => planCacheClear(config({ REDIS_CACHE_DB: '0' }), {})).exitCode).toBe(2);
    expect(refused(() => planCacheClear(config({ REDIS_CACHE_DB: '2' }), {})).message).toMatch(/session role uses the same DB/);
    expect(refused(() => planCacheClear(config({ REDIS_CLUSTER: 'true', REDIS_URL: 'redis://127.0.0.1:7000' }), {})).message).toMatch(/cluster/);
    // With a prefix of its own the cache can be cleared even there.
    expect(planCacheClear(config({ REDIS_CACHE_DB: '0', CACHE_PREFIX: 'cache:' }), {}).match.toString()).toBe('cache:*');
  });

  it("refuses a prefix that reaches into BullMQ's keys in a shared DB", () => {
    expect(refused(() => planCacheClear(config({ REDIS_CACHE_DB: '0' }), { prefixes: ['bu'] })).exitCode).toBe(2);
    expect(planCacheClear(config({ REDIS_CACHE_DB: '0' }), { prefixes: ['stock_'] }).prefixes.map(String)).toEqual(['stock_']);
  });
});
