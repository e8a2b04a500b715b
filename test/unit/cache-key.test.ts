import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { cacheKey, canonicalJson } from '../../src/cache/key.js';
import { FETCH_METHODS, fetchCacheKey, normalizeParams, requestOf } from '../../src/jobs/fetch/methods.js';
import { fetchPayloadSchema, FetchCryptoData, FetchStockData } from '../../src/jobs/fetch/job.js';
import { parseRetryAfter, providerMessage } from '../../src/providers/http.js';

const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');
const method = (name: string) => FETCH_METHODS.get(name)!;

describe('canonicalJson', () => {
  it('sorts keys recursively, keeps arrays in order, no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' } })).toBe('{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}');
  });

  it('keeps value types: the string "1" and the number 1 differ', () => {
    expect(canonicalJson({ page: '1' })).toBe('{"page":"1"}');
    expect(canonicalJson({ page: 1 })).toBe('{"page":1}');
    expect(canonicalJson({ t: true, n: null })).toBe('{"n":null,"t":true}');
  });

  it('writes non-ASCII as UTF-8 and slashes unescaped (like Python ensure_ascii=False, PHP UNESCAPED flags)', () => {
    expect(canonicalJson({ q: 'Société/é' })).toBe('{"q":"Société/é"}');
  });

  it('refuses what JSON cannot hold', () => {
    expect(() => canonicalJson({ a: Number.NaN })).toThrow();
    expect(() => canonicalJson([undefined])).toThrow();
  });
});

describe('the cache key contract', () => {
  it('is prefix + family + "_" + md5(canonical params), matching a value computed independently (Python json.dumps sort_keys)', () => {
    // python3 -c 'import json,hashlib; print(hashlib.md5(json.dumps({"vs_currency":"usd","order":"market_cap_desc","per_page":100,"page":1},sort_keys=True,separators=(",",":")).encode()).hexdigest())'
    const r = normalizeParams(method('getCryptoList'), { vs_currency: 'usd' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(fetchCacheKey('', method('getCryptoList'), r.params)).toBe('crypto_list_5caf34cb14e1f8d64c9acb9735e78810');
    expect(fetchCacheKey('laravel_cache:', method('getCryptoList'), r.params)).toBe('laravel_cache:crypto_list_5caf34cb14e1f8d64c9acb9735e78810');
    expect(cacheKey('p_', 'crypto_trending', {})).toBe(`p_crypto_trending_${md5('{}')}`);
  });

  it('page=1 from the command line and {"page":1} in a payload give the same key; so does leaving it to the default', () => {
    const m = method('getCryptoList');
    const fromCli = normalizeParams(m, { page: '1', vs_currency: 'usd' });
    const fromPayload = normalizeParams(m, { page: 1, vs_currency: 'usd' });
    const defaulted = normalizeParams(m, {});
    const keys = [fromCli, fromPayload, defaulted].map((r) => (r.ok ? fetchCacheKey('', m, r.params) : 'invalid'));
    expect(new Set(keys).size).toBe(1);
    expect(keys[0]).not.toBe('invalid');
    const page2 = normalizeParams(m, { page: '2' });
    expect(page2.ok && fetchCacheKey('', m, page2.params)).not.toBe(keys[0]);
  });

  it('the payload schema gives the same normalized payload for command-line strings and typed JSON', () => {
    const schema = fetchPayloadSchema('FetchCryptoData');
    const cli = FetchCryptoData.fromCli!('getCryptoDetail', { id: 'bitcoin', tickers: 'false', localization: 'FALSE' });
    const a = schema.parse(cli);
    const b = schema.parse({ method: 'getCryptoDetail', params: { id: 'bitcoin', tickers: false } });
    expect(a).toEqual(b);
    expect(a.params).toEqual({ id: 'bitcoin', localization: false, tickers: false, community_data: false, developer_data: false });
    // Idempotent: the worker parses what dispatch stored.
    expect(schema.parse(a)).toEqual(a);
  });

  it('coerces each declared type and refuses what cannot be coerced', () => {
    const chart = normalizeParams(method('getCryptoChart'), { id: 'bitcoin', days: 'max' });
    expect(chart).toEqual({ ok: true, params: { id: 'bitcoin', days: 'max', vs_currency: 'usd' } });
    expect(normalizeParams(method('getCryptoChart'), { id: 'bitcoin', days: '30' })).toMatchObject({ ok: true, params: { days: 30 } });
    expect(normalizeParams(method('getCryptoChart'), { id: 'bitcoin', days: 'week' })).toMatchObject({ ok: false });
    expect(normalizeParams(method('getCryptoList'), { page: '1.5' })).toMatchObject({ ok: false, problems: [{ param: 'page' }] });
    expect(normalizeParams(method('getCryptoList'), { page: '0' })).toMatchObject({ ok: false });
    expect(normalizeParams(method('getCryptoPrices'), { ids: 'bitcoin', include_24hr_change: 'maybe' })).toMatchObject({
      ok: false,
      problems: [{ param: 'include_24hr_change' }],
    });
    expect(normalizeParams(method('getCryptoPrices'), { ids: ['bitcoin', 'ethereum'] })).toMatchObject({
      ok: true,
      params: { ids: 'bitcoin,ethereum', include_24hr_change: true, vs_currencies: 'usd' },
    });
  });

  it('refuses unknown and missing params with their names', () => {
    const r = normalizeParams(method('getStockQuote'), { sym: 'AAPL' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.map((p) => p.message).join('\n')).toMatch(/unknown param "sym".*known: symbol/);
    expect(r.problems.map((p) => p.message).join('\n')).toMatch(/needs symbol/);
    expect(normalizeParams(method('getTrendingCryptos'), { x: '1' })).toMatchObject({ ok: false });
  });

  it('getStockChart defaults from/to to the last 30 days rounded down to the day: one key all day', () => {
    const m = method('getStockChart');
    const morning = Date.UTC(2024, 8, 27, 0, 0, 1);
    const evening = Date.UTC(2024, 8, 27, 23, 59, 59);
    const a = normalizeParams(m, { symbol: 'AAPL' }, morning);
    const b = normalizeParams(m, { symbol: 'AAPL' }, evening);
    expect(a).toEqual(b);
    expect(a).toMatchObject({ ok: true, params: { to: Date.UTC(2024, 8, 27) / 1000, from: Date.UTC(2024, 7, 28) / 1000, resolution: 'D' } });
    const next = normalizeParams(m, { symbol: 'AAPL' }, Date.UTC(2024, 8, 28, 0, 0, 1));
    expect(next).not.toEqual(a);
    expect(normalizeParams(m, { symbol: 'AAPL', from: '200', to: '100' })).toMatchObject({ ok: false });
  });

  it('builds the request: path params substituted, the rest as query, booleans as true/false', () => {
    const r = normalizeParams(method('getCryptoDetail'), { id: 'usd-coin' });
    if (!r.ok) throw new Error('invalid');
    const req = requestOf(method('getCryptoDetail'), r.params);
    expect(req.path).toBe('/coins/usd-coin');
    expect(Object.fromEntries(req.query)).toEqual({ community_data: 'false', developer_data: 'false', localization: 'false', tickers: 'false' });
  });

  it('every documented method (docs/jobs.md) is there with its family', () => {
    expect(FetchCryptoData.methods).toEqual(['getCryptoList', 'getCryptoDetail', 'getCryptoPrices', 'getTrendingCryptos', 'getCryptoChart']);
    expect(FetchStockData.methods).toEqual(['getStockList', 'getStockQuote', 'getStockProfile', 'getMarketNews', 'getStockChart']);
    expect([...FETCH_METHODS.values()].map((m) => m.family)).toEqual([
      'crypto_list',
      'crypto_detail',
      'crypto_prices',
      'crypto_trending',
      'crypto_chart',
      'stock_list',
      'stock_quote',
      'stock_profile',
      'market_news',
      'stock_chart',
    ]);
  });
});

describe('provider responses', () => {
  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('7')).toBe(7000);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
    const now = Date.UTC(2024, 0, 1, 0, 0, 0);
    expect(parseRetryAfter('Mon, 01 Jan 2024 00:00:30 GMT', now)).toBe(30_000);
  });

  it("finds the provider's message in CoinGecko, Finnhub and non-JSON error bodies", () => {
    expect(providerMessage(Buffer.from('{"status":{"error_code":10002,"error_message":"API Key Missing"}}'))).toBe('API Key Missing');
    expect(providerMessage(Buffer.from('{"error":"Invalid API key"}'))).toBe('Invalid API key');
    expect(providerMessage(Buffer.from('<html><body><h1>502 Bad Gateway</h1></body></html>'))).toBe('502 Bad Gateway');
    expect(providerMessage(Buffer.from(''))).toBe('(empty body)');
  });
});
