import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import '../../src/jobs/index.js';
import { dispatch, prepareDispatch, type WaitResult } from '../../src/jobs/dispatch.js';
import { cacheKeyFor } from '../../src/jobs/fetch/cache-key.js';
import { fixture, ProviderServer } from '../helpers/provider-server.js';
import { jobEnv, type JobEnv } from '../helpers/job-env.js';
import { startJobWorker, type TestWorker } from '../helpers/job-worker.js';
import { FREE_429_DELAYS } from '../../src/limits/provider-limits.js';

const redisUrl = inject('plainRedisUrl');

async function run(
  env: JobEnv,
  job: string,
  method: string,
  params: Record<string, string>,
  o: { tries?: number; backoff?: number; waitMs?: number } = {},
): Promise<WaitResult> {
  const prepared = prepareDispatch(env.config, { job, method, params, tries: o.tries, backoffSeconds: o.backoff });
  return (await dispatch(env.config, prepared, { waitMs: o.waitMs ?? 30_000 })) as WaitResult;
}

let server: ProviderServer;
beforeAll(async () => {
  server = await ProviderServer.start();
});
afterAll(async () => {
  await server?.close();
});

describe('the ten fetch methods against recorded provider responses', () => {
  let env: JobEnv;
  let worker: TestWorker;
  beforeAll(async () => {
    env = await jobEnv(redisUrl, {
      label: 'fetch',
      env: {
        COINGECKO_BASE_URL: server.coingeckoUrl,
        COINGECKO_API_KEY: 'cg-demo-key',
        FINNHUB_BASE_URL: server.finnhubUrl,
        FINNHUB_API_KEY: 'fh-key',
        CRYPTO_CACHE_DURATION: '777',
        STOCK_CACHE_DURATION: '555',
      },
    });
    worker = await startJobWorker(env.config, ['default']);
  });
  afterAll(async () => {
    await worker?.close();
    await env?.cleanup();
  });

  const cases: [string, string, Record<string, string>, 'coingecko' | 'finnhub', string, string, Record<string, string>][] = [
    [
      'FetchCryptoData',
      'getCryptoList',
      { vs_currency: 'usd' },
      'coingecko',
      '/coins/markets',
      'coingecko/coins_markets.json',
      { vs_currency: 'usd', order: 'market_cap_desc', per_page: '100', page: '1' },
    ],
    [
      'FetchCryptoData',
      'getCryptoDetail',
      { id: 'bitcoin' },
      'coingecko',
      '/coins/bitcoin',
      'coingecko/coins_bitcoin.json',
      { localization: 'false', tickers: 'false', community_data: 'false', developer_data: 'false' },
    ],
    [
      'FetchCryptoData',
      'getCryptoPrices',
      { ids: 'bitcoin,ethereum,tether' },
      'coingecko',
      '/simple/price',
      'coingecko/simple_price.json',
      { ids: 'bitcoin,ethereum,tether', vs_currencies: 'usd', include_24hr_change: 'true' },
    ],
    ['FetchCryptoData', 'getTrendingCryptos', {}, 'coingecko', '/search/trending', 'coingecko/search_trending.json', {}],
    [
      'FetchCryptoData',
      'getCryptoChart',
      { id: 'bitcoin', days: 'max' },
      'coingecko',
      '/coins/bitcoin/market_chart',
      'coingecko/coins_bitcoin_market_chart.json',
      { vs_currency: 'usd', days: 'max' },
    ],
    ['FetchStockData', 'getStockList', {}, 'finnhub', '/stock/symbol', 'finnhub/stock_symbol.json', { exchange: 'US' }],
    ['FetchStockData', 'getStockQuote', { symbol: 'AAPL' }, 'finnhub', '/quote', 'finnhub/quote.json', { symbol: 'AAPL' }],
    ['FetchStockData', 'getStockProfile', { symbol: 'AAPL' }, 'finnhub', '/stock/profile2', 'finnhub/stock_profile2.json', { symbol: 'AAPL' }],
    ['FetchStockData', 'getMarketNews', {}, 'finnhub', '/news', 'finnhub/news.json', { category: 'general' }],
    [
      'FetchStockData',
      'getStockChart',
      { symbol: 'AAPL', from: '1726790400', to: '1727467200' },
      'finnhub',
      '/stock/candle',
      'finnhub/stock_candle.json',
      { symbol: 'AAPL', resolution: 'D', from: '1726790400', to: '1727467200' },
    ],
  ];

  it.each(cases)('%s %s writes the body byte for byte under the contract key with the TTL', async (job, method, params, provider, path, file, query) => {
    const before = server.requestsTo(provider, path).length;
    const r = await run(env, job, method, params);
    expect(r.state, r.failedReason).toBe('completed');

    // The key `rqctl cache key` prints is the key the job wrote.
    const { key, ttl } = await cacheKeyFor(env.config, job, method, params);
    expect((r.returnvalue as any).key).toBe(key);
    expect(key.startsWith(`${env.id}:${key.slice(env.id.length + 1).split('_')[0]}`)).toBe(true);
    const stored = await env.cacheDb.getBuffer(key);
    expect(stored).not.toBeNull();
    expect(Buffer.compare(stored!, fixture(file))).toBe(0);
    expect(ttl).toBe(provider === 'coingecko' ? 777 : 555);
    const actualTtl = await env.cacheDb.ttl(key);
    expect(actualTtl).toBeGreaterThan(ttl - 10);
    expect(actualTtl).toBeLessThanOrEqual(ttl);

    // One request, with the documented query and headers.
    const reqs = server.requestsTo(provider, path);
    expect(reqs.length).toBe(before + 1);
    const req = reqs[reqs.length - 1];
    expect(Object.fromEntries(req.query)).toEqual(query);
    expect(req.headers['user-agent']).toMatch(/^rqctl\/\d+\.\d+\.\d+/);
    if (provider === 'coingecko') {
      expect(req.headers['x-cg-demo-api-key']).toBe('cg-demo-key');
      expect(req.headers['x-cg-pro-api-key']).toBeUndefined();
    } else {
      expect(req.headers['x-finnhub-token']).toBe('fh-key');
      expect(req.query.get('token')).toBeNull();
    }
  });

  it('a provider 401 fails the job at once: no retries, status and message in the reason, the last good value kept', async () => {
    const { key } = await cacheKeyFor(env.config, 'FetchCryptoData', 'getCryptoList', { page: '7' });
    await env.cacheDb.set(key, 'last good value', 'EX', 500);
    server.queue('coingecko', '/coins/markets', { status: 401, fixture: 'coingecko/error_401.json' });
    const before = server.requestsTo('coingecko', '/coins/markets').length;
    const r = await run(env, 'FetchCryptoData', 'getCryptoList', { page: '7' }, { tries: 3, backoff: 60 });
    expect(r.state).toBe('failed');
    expect(r.attemptsMade).toBe(1);
    expect(r.failedReason).toContain('HTTP 401');
    expect(r.failedReason).toContain('API Key Missing');
    expect(server.requestsTo('coingecko', '/coins/markets').length).toBe(before + 1);
    expect(await env.cacheDb.get(key)).toBe('last good value');
    expect(await env.cacheDb.ttl(key)).toBeGreaterThan(400);
  });

  it('a Finnhub 403 (plan lacks the endpoint) and a 404 (unknown coin) fail at once', async () => {
    server.queue('finnhub', '/stock/candle', { status: 403, fixture: 'finnhub/error_403.json' });
    const candle = await run(env, 'FetchStockData', 'getStockChart', { symbol: 'MSFT' }, { tries: 3, backoff: 60 });
    expect(candle.state).toBe('failed');
    expect(candle.attemptsMade).toBe(1);
    expect(candle.failedReason).toMatch(/HTTP 403.*You don't have access to this resource/);
    const coin = await run(env, 'FetchCryptoData', 'getCryptoDetail', { id: 'no-such-coin' }, { tries: 3, backoff: 60 });
    expect(coin.state).toBe('failed');
    expect(coin.attemptsMade).toBe(1);
    expect(coin.failedReason).toMatch(/HTTP 404.*coin not found/);
  });

  it('a 500 is retried after the backoff and then succeeds', async () => {
    server.queue('finnhub', '/quote', { status: 500, body: '{"error":"Internal server error"}' });
    const before = server.requestsTo('finnhub', '/quote').length;
    const r = await run(env, 'FetchStockData', 'getStockQuote', { symbol: 'NVDA' }, { tries: 3, backoff: 1 });
    expect(r.state, r.failedReason).toBe('completed');
    expect(r.attemptsMade).toBe(2); // a failed attempt, then the successful one
    expect(server.requestsTo('finnhub', '/quote').length).toBe(before + 2);
    expect(Buffer.compare((await env.cacheDb.getBuffer((r.returnvalue as any).key))!, fixture('finnhub/quote.json'))).toBe(0);
  });

  it('a 500 on every try fails after the tries, with the status and message', async () => {
    server.always('finnhub', '/stock/profile2', { status: 502, body: '<html><body><h1>502 Bad Gateway</h1></body></html>' });
    try {
      const before = server.requestsTo('finnhub', '/stock/profile2').length;
      const r = await run(env, 'FetchStockData', 'getStockProfile', { symbol: 'AMZN' }, { tries: 2, backoff: 1 });
      expect(r.state).toBe('failed');
      expect(r.attemptsMade).toBe(2);
      expect(r.failedReason).toMatch(/HTTP 502: 502 Bad Gateway/);
      expect(server.requestsTo('finnhub', '/stock/profile2').length).toBe(before + 2);
    } finally {
      server.reset();
    }
  });

  it('a 429 is retried after Retry-After, not after the (60 s) backoff, without using an attempt', async () => {
    server.queue('coingecko', '/search/trending', { status: 429, headers: { 'retry-after': '2' }, fixture: 'coingecko/error_429.json' });
    const before = server.requestsTo('coingecko', '/search/trending').length;
    const r = await run(env, 'FetchCryptoData', 'getTrendingCryptos', {}, { tries: 3, backoff: 60, waitMs: 40_000 });
    expect(r.state, r.failedReason).toBe('completed');
    const reqs = server.requestsTo('coingecko', '/search/trending').slice(before);
    expect(reqs.length).toBe(2);
    const gap = reqs[1].at - reqs[0].at;
    expect(gap).toBeGreaterThanOrEqual(1900); // waited for Retry-After…
    expect(gap).toBeLessThan(40_000); // …and not for the 60 s backoff
    expect(r.attemptsMade).toBe(1); // the successful attempt only: the provider's pause used none
  });

  it('a 429 on every try: free delays first, then it uses up the tries and reports the rate limit', async () => {
    server.always('finnhub', '/news', { status: 429, headers: { 'retry-after': '1' }, fixture: 'finnhub/error_429.json' });
    try {
      const before = server.requestsTo('finnhub', '/news').length;
      const r = await run(env, 'FetchStockData', 'getMarketNews', { category: 'forex' }, { tries: 2, backoff: 60, waitMs: 40_000 });
      expect(r.state).toBe('failed');
      expect(r.attemptsMade).toBe(2);
      // Each 429 pauses Finnhub for 1 s; the first FREE_429_DELAYS of them use no attempt.
      expect(server.requestsTo('finnhub', '/news').length - before).toBe(FREE_429_DELAYS + 2);
      expect(r.failedReason).toMatch(/HTTP 429.*API limit reached/);
    } finally {
      server.reset();
    }
  });

  it('a 429 asking to wait more than an hour fails at once', async () => {
    server.queue('coingecko', '/simple/price', { status: 429, headers: { 'retry-after': '86400' }, fixture: 'coingecko/error_429.json' });
    const r = await run(env, 'FetchCryptoData', 'getCryptoPrices', { ids: 'tron' }, { tries: 3, backoff: 60 });
    expect(r.state).toBe('failed');
    expect(r.attemptsMade).toBe(1);
    expect(r.failedReason).toMatch(/HTTP 429.*Retry-After 86400 s.*exceeded the Rate Limit/);
  });

  it('a 200 whose body is not JSON is not cached; the last good value stays', async () => {
    const { key } = await cacheKeyFor(env.config, 'FetchStockData', 'getStockList', { exchange: 'L' });
    await env.cacheDb.set(key, '[{"symbol":"OLD"}]', 'EX', 500);
    server.queue('finnhub', '/stock/symbol', { status: 200, headers: { 'content-type': 'text/html' }, body: '<html>Please log in to the Wi-Fi</html>' });
    const r = await run(env, 'FetchStockData', 'getStockList', { exchange: 'L' }, { tries: 1 });
    expect(r.state).toBe('failed');
    expect(r.failedReason).toMatch(/HTTP 200 but the body is not JSON/);
    expect(await env.cacheDb.get(key)).toBe('[{"symbol":"OLD"}]');
  });
});

describe('CoinGecko pro plan', () => {
  it('sends x-cg-pro-api-key instead of the demo header', async () => {
    const env = await jobEnv(redisUrl, {
      label: 'pro',
      env: { COINGECKO_BASE_URL: server.coingeckoUrl, COINGECKO_API_KEY: 'cg-pro-key', COINGECKO_API_PLAN: 'pro' },
    });
    const worker = await startJobWorker(env.config, ['default']);
    try {
      const r = await run(env, 'FetchCryptoData', 'getCryptoList', { page: '3' });
      expect(r.state, r.failedReason).toBe('completed');
      const req = server.requestsTo('coingecko', '/coins/markets').find((x) => x.query.get('page') === '3')!;
      expect(req.headers['x-cg-pro-api-key']).toBe('cg-pro-key');
      expect(req.headers['x-cg-demo-api-key']).toBeUndefined();
    } finally {
      await worker.close();
      await env.cleanup();
    }
  });
});

describe('timeouts and network errors', () => {
  it('a provider slower than the request timeout is retried, and reported as a timeout', async () => {
    const env = await jobEnv(redisUrl, { label: 'slow', env: { COINGECKO_BASE_URL: server.coingeckoUrl }, file: { providers: { timeoutMs: 300 } } });
    const worker = await startJobWorker(env.config, ['default']);
    try {
      server.queue('coingecko', '/coins/bitcoin', { delayMs: 3000, fixture: 'coingecko/coins_bitcoin.json' });
      const ok = await run(env, 'FetchCryptoData', 'getCryptoDetail', { id: 'bitcoin' }, { tries: 2, backoff: 1 });
      expect(ok.state, ok.failedReason).toBe('completed');
      expect(ok.attemptsMade).toBe(2);

      server.queue('coingecko', '/coins/bitcoin', { delayMs: 3000, fixture: 'coingecko/coins_bitcoin.json' });
      const failed = await run(env, 'FetchCryptoData', 'getCryptoDetail', { id: 'bitcoin', tickers: 'true' }, { tries: 1 });
      expect(failed.state).toBe('failed');
      expect(failed.failedReason).toMatch(/CoinGecko GET \/coins\/bitcoin: no response within 0\.3 s \(timeout\)/);
    } finally {
      await worker.close();
      await env.cleanup();
    }
  });

  it('a provider that is not listening is a network error, retried', async () => {
    const { freePort } = await import('../helpers/redis-server.js');
    const port = await freePort();
    const env = await jobEnv(redisUrl, { label: 'down', env: { FINNHUB_BASE_URL: `http://127.0.0.1:${port}/api/v1` } });
    const worker = await startJobWorker(env.config, ['default']);
    try {
      const r = await run(env, 'FetchStockData', 'getStockQuote', { symbol: 'AAPL' }, { tries: 2, backoff: 1 });
      expect(r.state).toBe('failed');
      expect(r.attemptsMade).toBe(2);
      expect(r.failedReason).toMatch(/Finnhub GET \/quote: network error: .*ECONNREFUSED/);
    } finally {
      await worker.close();
      await env.cleanup();
    }
  });
});
