import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/resolve.js';
import { formatRateLimit, parseRateLimit } from '../../src/config/rate-limits.js';
import { ConfigError } from '../../src/errors.js';

const resolve = (env: Record<string, string> = {}, file?: string) => {
  const cwd = mkdtempSync(join(tmpdir(), 'rqctl-limits-'));
  if (file !== undefined) writeFileSync(join(cwd, 'rqctl.config.yaml'), file);
  return resolveConfig({ env, cwd });
};
const problemsOf = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error('expected a ConfigError');
};

describe('rate limits N/WINDOW', () => {
  it.each([
    ['30/min', 30, 60_000],
    ['30/s', 30, 1000],
    ['20/2s', 20, 2000],
    ['1000/h', 1000, 3_600_000],
    ['10/1500ms', 10, 1500],
    [' 60 / min ', 60, 60_000],
    ['5/d', 5, 86_400_000],
  ])('%s is %i per %i ms, and prints back in its shortest form', (text, max, windowMs) => {
    expect(parseRateLimit(text)).toEqual({ max, windowMs });
    expect(parseRateLimit(formatRateLimit({ max, windowMs }))).toEqual({ max, windowMs });
  });

  it('prints windows in the largest unit that divides them', () => {
    expect(formatRateLimit({ max: 20, windowMs: 2000 })).toBe('20/2s');
    expect(formatRateLimit({ max: 30, windowMs: 60_000 })).toBe('30/min');
    expect(formatRateLimit({ max: 10, windowMs: 1500 })).toBe('10/1500ms');
    expect(formatRateLimit({ max: 1000, windowMs: 3_600_000 })).toBe('1000/h');
  });

  it.each(['30', '30/minute', '30 per minute', '/min', '30/1.5s', '-1/s', '30/'])('"%s" is refused with the expected shape', (text) => {
    const r = parseRateLimit(text);
    expect(r).toHaveProperty('problem');
    expect((r as { problem: string }).problem).toMatch(/is not a rate limit: write N\/WINDOW, like 30\/min/);
  });

  it('refuses zero requests and zero-length windows', () => {
    expect(parseRateLimit('0/min')).toEqual({ problem: expect.stringMatching(/number of requests must be 1/) });
    expect(parseRateLimit('10/0s')).toEqual({ problem: expect.stringMatching(/window must be 1 ms/) });
  });
});

describe('limits in the configuration', () => {
  it('defaults by plan: CoinGecko demo 30/min, pro 500/min; Finnhub 60/min and 30/s', () => {
    expect(resolve().limits).toEqual({
      coingecko: [{ max: 30, windowMs: 60_000 }],
      finnhub: [
        { max: 60, windowMs: 60_000 },
        { max: 30, windowMs: 1000 },
      ],
    });
    expect(resolve({ COINGECKO_API_PLAN: 'pro' }).limits.coingecko).toEqual([{ max: 500, windowMs: 60_000 }]);
  });

  it('reads COINGECKO_RATE_LIMIT and FINNHUB_RATE_LIMIT ("60/min,30/s")', () => {
    const c = resolve({ COINGECKO_RATE_LIMIT: '20/2s', FINNHUB_RATE_LIMIT: '100/min, 10/s' });
    expect(c.limits.coingecko).toEqual([{ max: 20, windowMs: 2000 }]);
    expect(c.limits.finnhub).toEqual([
      { max: 100, windowMs: 60_000 },
      { max: 10, windowMs: 1000 },
    ]);
  });

  it('reads limits: from rqctl.config.yaml (a value or a list; other providers for extra job types); the environment wins', () => {
    const file = 'limits:\n  coingecko: 25/min\n  finnhub: [60/min, 30/s, 1000/h]\n  myapi: 10/1500ms\n';
    const c = resolve({}, file);
    expect(c.limits.coingecko).toEqual([{ max: 25, windowMs: 60_000 }]);
    expect(c.limits.finnhub).toHaveLength(3);
    expect(c.limits.myapi).toEqual([{ max: 10, windowMs: 1500 }]);
    expect(resolve({ COINGECKO_RATE_LIMIT: '5/s' }, file).limits.coingecko).toEqual([{ max: 5, windowMs: 1000 }]);
  });

  it('a bad value is a config error (exit 2) that names the setting and the variable', () => {
    expect(problemsOf(() => resolve({ COINGECKO_RATE_LIMIT: '30/minute' }))).toEqual([
      'limits.coingecko (COINGECKO_RATE_LIMIT): "30/minute" is not a rate limit: write N/WINDOW, like 30/min, 30/s, 20/2s, 1000/h or 10/1500ms',
    ]);
    expect(problemsOf(() => resolve({ FINNHUB_RATE_LIMIT: '60/min,abc' }))[0]).toMatch(/^limits\.finnhub \(FINNHUB_RATE_LIMIT\): "abc" is not a rate limit/);
    expect(problemsOf(() => resolve({ FINNHUB_RATE_LIMIT: '' }))[0]).toMatch(/^limits\.finnhub \(FINNHUB_RATE_LIMIT\): needs at least one rate limit/);
    expect(problemsOf(() => resolve({}, 'limits:\n  coingecko: 0/min\n'))).toEqual([
      'limits.coingecko (rqctl.config.yaml limits.coingecko): "0/min": the number of requests must be 1–100000',
    ]);
    expect(problemsOf(() => resolve({}, 'limits:\n  "Bad:Name": 1/s\n'))).toEqual([
      'limits.Bad:Name (rqctl.config.yaml limits.Bad:Name): a provider name is lower-case letters, digits, - and _',
    ]);
    try {
      resolve({ COINGECKO_RATE_LIMIT: 'fast' });
    } catch (e) {
      expect((e as ConfigError).exitCode).toBe(2);
    }
  });
});
