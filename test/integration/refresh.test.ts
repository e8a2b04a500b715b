import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import '../../src/jobs/index.js';
import { dispatch, prepareDispatch, type DispatchResult, type WaitResult } from '../../src/jobs/dispatch.js';
import { cacheKeyFor } from '../../src/jobs/fetch/cache-key.js';
import { refreshLockKey, type RefreshResult } from '../../src/jobs/refresh.js';
import { fixture, ProviderServer } from '../helpers/provider-server.js';
import { jobEnv, type JobEnv } from '../helpers/job-env.js';
import { startJobWorker, type TestWorker } from '../helpers/job-worker.js';

const redisUrl = inject('plainRedisUrl');

let server: ProviderServer;
let env: JobEnv;
let worker: TestWorker;

beforeAll(async () => {
  server = await ProviderServer.start();
  env = await jobEnv(redisUrl, {
    label: 'refresh',
    env: { COINGECKO_BASE_URL: server.coingeckoUrl, FINNHUB_BASE_URL: server.finnhubUrl, FINNHUB_API_KEY: 'fh' },
    // ethereum has no chart on the recorded server (404): one child fails.
    file: { refresh: { crypto: { listPages: 2, ids: ['bitcoin', 'ethereum'], chartDays: 7 } } },
  });
  worker = await startJobWorker(env.config, ['default'], { concurrency: 3 });
});
afterAll(async () => {
  await worker?.close();
  await env?.cleanup();
  await server?.close();
});

const refresh = async (name: string, waitMs?: number) => dispatch(env.config, prepareDispatch(env.config, { job: name }), { waitMs });

async function waitForState(queueName: string, id: string, states: string[]): Promise<string> {
  const conn = env.queueDb.duplicate();
  const q = new Queue(queueName, { connection: conn, prefix: env.config.queue.prefix });
  try {
    for (let i = 0; i < 200; i++) {
      const s = await q.getJobState(id);
      if (states.includes(s)) return s;
      await new Promise((r) => setTimeout(r, 50));
    }
    return q.getJobState(id);
  } finally {
    await q.close();
    conn.disconnect();
  }
}

describe('RefreshCryptoCache', () => {
  it('runs the configured fetches as children of one flow and reports how many succeeded and failed', async () => {
    const r = (await refresh('RefreshCryptoCache', 60_000)) as WaitResult;
    expect(r.state, r.failedReason).toBe('completed');
    const result = r.returnvalue as RefreshResult;
    expect(result).toMatchObject({ skipped: false, children: 6, succeeded: 5, failed: 1 });
    expect(result.failures).toHaveLength(1);
    expect(result.failures[0].reason).toMatch(/HTTP 404.*coin not found/);

    // Every crypto family it refreshed is filled, under the keys `rqctl cache key` prints.
    const filled: [string, Record<string, string>, string][] = [
      ['getCryptoList', { page: '1' }, 'coingecko/coins_markets.json'],
      ['getCryptoList', { page: '2' }, 'coingecko/coins_markets.json'],
      ['getTrendingCryptos', {}, 'coingecko/search_trending.json'],
      ['getCryptoPrices', { ids: 'bitcoin,ethereum' }, 'coingecko/simple_price.json'],
      ['getCryptoChart', { id: 'bitcoin', days: '7' }, 'coingecko/coins_bitcoin_market_chart.json'],
    ];
    for (const [method, params, file] of filled) {
      const { key } = await cacheKeyFor(env.config, 'FetchCryptoData', method, params);
      expect(Buffer.compare((await env.cacheDb.getBuffer(key)) ?? Buffer.alloc(0), fixture(file)), `${method} ${JSON.stringify(params)}`).toBe(0);
    }
    // The lock is released when the refresh ends.
    expect(await env.queueDb.exists(refreshLockKey(env.config, 'RefreshCryptoCache'))).toBe(0);
  });

  it('never overlaps a running refresh: a second one is skipped, and runs again once the first has finished', async () => {
    server.always('coingecko', '/coins/markets', { delayMs: 1500, fixture: 'coingecko/coins_markets.json' });
    try {
      const first = (await refresh('RefreshCryptoCache')) as DispatchResult;
      expect(await waitForState('default', first.id, ['waiting-children', 'completed'])).toBe('waiting-children');
      const second = (await refresh('RefreshCryptoCache', 30_000)) as WaitResult;
      expect(second.state).toBe('completed');
      expect(second.returnvalue).toMatchObject({ skipped: true, runningJob: `default:${first.id}`, children: 0 });
      expect(await waitForState('default', first.id, ['completed', 'failed'])).toBe('completed');
    } finally {
      server.reset();
    }
    const third = (await refresh('RefreshCryptoCache', 60_000)) as WaitResult;
    expect(third.returnvalue).toMatchObject({ skipped: false, children: 6 });
  });

  it('takes over a lock whose holder is gone (a crashed refresh)', async () => {
    await env.queueDb.set(refreshLockKey(env.config, 'RefreshCryptoCache'), 'default:no-such-job', 'EX', 3600);
    const r = (await refresh('RefreshCryptoCache', 60_000)) as WaitResult;
    expect(r.returnvalue).toMatchObject({ skipped: false, children: 6, succeeded: 5 });
  });
});

describe('RefreshStockCache', () => {
  it('refreshes list, news, quotes and profiles of the watchlist; no candles without refresh.stock.charts', async () => {
    const before = server.requestsTo('finnhub', '/stock/candle').length;
    const r = (await refresh('RefreshStockCache', 60_000)) as WaitResult;
    expect(r.state, r.failedReason).toBe('completed');
    expect(r.returnvalue).toMatchObject({ skipped: false, children: 12, succeeded: 12, failed: 0 });
    expect(server.requestsTo('finnhub', '/stock/candle').length).toBe(before);
    for (const symbol of ['AAPL', 'MSFT', 'GOOGL', 'AMZN', 'NVDA']) {
      const { key } = await cacheKeyFor(env.config, 'FetchStockData', 'getStockQuote', { symbol });
      expect(await env.cacheDb.exists(key)).toBe(1);
    }
  });

  it('with refresh.stock.charts: true it adds the candles', async () => {
    const charts = await jobEnv(redisUrl, {
      label: 'charts',
      env: { FINNHUB_BASE_URL: server.finnhubUrl },
      file: { refresh: { stock: { watchlist: ['AAPL', 'MSFT'], list: false, news: false, profiles: false, charts: true } } },
    });
    const w = await startJobWorker(charts.config, ['default']);
    try {
      const before = server.requestsTo('finnhub', '/stock/candle').length;
      const r = (await dispatch(charts.config, prepareDispatch(charts.config, { job: 'RefreshStockCache' }), { waitMs: 60_000 })) as WaitResult;
      expect(r.returnvalue).toMatchObject({ children: 4, succeeded: 4, failed: 0 });
      expect(server.requestsTo('finnhub', '/stock/candle').length).toBe(before + 2);
      const { key } = await cacheKeyFor(charts.config, 'FetchStockData', 'getStockChart', { symbol: 'MSFT' });
      expect(Buffer.compare((await charts.cacheDb.getBuffer(key)) ?? Buffer.alloc(0), fixture('finnhub/stock_candle.json'))).toBe(0);
    } finally {
      await w.close();
      await charts.cleanup();
    }
  });
});
