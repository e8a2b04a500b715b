import { describe, expect, it } from 'vitest';
import { compileFilter, errorMatcher, nameMatcher, parseSince } from '../../src/queue/failed/filter.js';
import { parseJobHash } from '../../src/queue/walk/job-hash.js';
import { RqctlError } from '../../src/errors.js';

describe('--name: what operators type', () => {
  const quote = ['FetchStockData', 'getStockQuote'] as const;
  const list = ['FetchCryptoData', 'getCryptoList'] as const;
  const email = ['SendEmail', undefined] as const;

  it.each([
    ['FetchStockData', [true, false, false]],
    ['fetchstockdata', [true, false, false]],
    ['getStockQuote', [true, false, false]],
    ['FetchStockData:getStockQuote', [true, false, false]],
    ['FetchStockData getStockQuote', [true, false, false]],
    ['FetchStockData@getStockQuote', [true, false, false]],
    ['FetchStockData::getStockQuote', [true, false, false]],
    ['App\\Jobs\\FetchStockData', [true, false, false]],
    ['FetchStockData:getCryptoList', [false, false, false]],
    ['Fetch*', [true, true, false]],
    ['*:get*', [true, true, false]],
    ['SendEmail, getCryptoList', [false, true, true]],
    ['Send', [false, false, false]],
  ])('%s', (spec, want) => {
    const m = nameMatcher(spec);
    expect([m(...quote), m(...list), m(...email)]).toEqual(want);
  });

  it('a job name that itself contains a separator still matches whole', () => {
    expect(nameMatcher('emails:send')('emails:send', undefined)).toBe(true);
    expect(nameMatcher('emails:send')('emails', undefined)).toBe(false);
  });

  it('an empty --name is a usage error', () => {
    expect(() => nameMatcher(' , ')).toThrow(RqctlError);
  });
});

describe('--error and --since', () => {
  it('--error is a case-insensitive regular expression; an invalid one exits 2', () => {
    expect(errorMatcher('http 5\\d\\d').test('Finnhub: HTTP 503 Service Unavailable')).toBe(true);
    try {
      errorMatcher('(oops');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(RqctlError);
      expect((e as RqctlError).exitCode).toBe(2);
    }
  });

  it('--since takes a duration back from now or a date', () => {
    const now = Date.UTC(2024, 4, 1, 12, 0, 0);
    expect(parseSince('1h', now)).toBe(now - 3_600_000);
    expect(parseSince('90m', now)).toBe(now - 5_400_000);
    expect(parseSince('2024-05-01T10:00:00Z', now)).toBe(Date.UTC(2024, 4, 1, 10));
    expect(() => parseSince('yesterday', now)).toThrow(/--since/);
  });

  it('only --queue leaves `retry all` free to use the server-side bulk move', () => {
    expect(compileFilter({ queues: ['default'] }).narrows).toBe(false);
    expect(compileFilter({ name: 'X' }).narrows).toBe(true);
    expect(compileFilter({ since: 1 }).narrows).toBe(true);
  });
});

describe('reading a job hash as BullMQ would', () => {
  const good = {
    name: 'FetchStockData',
    data: '{"method":"getStockQuote","params":{"symbol":"AAPL"}}',
    opts: '{"attempts":3}',
    atm: '3',
    failedReason: 'HTTP 500',
    timestamp: '1000',
    processedOn: '1100',
    finishedOn: '1200',
  };

  it('parses a good one', () => {
    const r = parseJobHash('default', '7', good);
    expect(r.ok).toBe(true);
    if (r.ok)
      expect(r.job).toMatchObject({
        id: '7',
        queue: 'default',
        name: 'FetchStockData',
        method: 'getStockQuote',
        attemptsMade: 3,
        attempts: 3,
        finishedOn: 1200,
      });
  });

  it.each([
    ['data', { ...good, data: '{not json' }, /^data is not valid JSON/],
    ['opts', { ...good, opts: '{"attempts":' }, /^opts is not valid JSON/],
    ['progress', { ...good, progress: 'fifty' }, /^progress is not valid JSON/],
    ['a missing hash', {}, /missing/],
  ])('reports %s as corrupt', (_what, raw, error) => {
    const r = parseJobHash('default', '7', raw as Record<string, string>);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.corrupt.error).toMatch(error);
  });

  it('reports a key of the wrong type', () => {
    const r = parseJobHash('default', '7', null, new Error('WRONGTYPE Operation against a key holding the wrong kind of value'));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.corrupt.error).toMatch(/not a hash/);
  });
});
