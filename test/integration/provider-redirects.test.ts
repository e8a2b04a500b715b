import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { Job } from 'bullmq';
import { providerGet, ProviderError } from '../../src/providers/http.js';
import { cleartextRemoteUrl } from '../../src/util/url.js';
import { FetchStockData } from '../../src/jobs/fetch/job.js';
import { ProviderLimits } from '../../src/limits/provider-limits.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { runCli, tempCwd } from '../helpers/cli.js';
import { ProviderServer } from '../helpers/provider-server.js';

/**
 * Issue 13, item 5: a provider's API key never crosses origins. Two local HTTP servers on different
 * ports are two origins: the provider (A) answers with a redirect to the other (B).
 */

const plain = inject('plainRedisUrl');

let a: ProviderServer;
let b: ProviderServer;
beforeAll(async () => {
  [a, b] = await Promise.all([ProviderServer.start(), ProviderServer.start()]);
});
afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
});
beforeEach(() => {
  a.reset();
  b.reset();
});

const get = (path: string, headers: Record<string, string>) =>
  providerGet({ provider: 'Finnhub', baseUrl: a.finnhubUrl, path, query: [['symbol', 'AAPL']], headers, timeoutMs: 10_000 });

describe('item 5: provider keys and redirects', () => {
  it('item 5: a redirect to another origin is not followed, the key is not sent there, and the failure says why', async () => {
    a.queue('finnhub', '/quote', { status: 302, headers: { location: `${b.finnhubUrl}/quote?symbol=AAPL` }, body: '' });
    const err = await get('/quote', { 'X-Finnhub-Token': 'fh-secret-key' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    const e = err as ProviderError;
    expect(e.message).toMatch(/Finnhub GET \/quote → HTTP 302 redirect to another origin \(http:\/\/127\.0\.0\.1:\d+\): not followed/);
    expect(e.message).toContain('FINNHUB_BASE_URL');
    expect(e.retryable).toBe(false);
    expect(e.message).not.toContain('fh-secret-key');
    // The other origin never saw the key (nor any request at all).
    expect(b.requests).toHaveLength(0);
  });

  it('item 5: the CoinGecko key header is not sent across origins either (pro plan)', async () => {
    a.queue('coingecko', '/simple/price', { status: 301, headers: { location: `${b.coingeckoUrl}/simple/price` }, body: '' });
    const err = await providerGet({
      provider: 'CoinGecko',
      baseUrl: a.coingeckoUrl,
      path: '/simple/price',
      query: [],
      headers: { 'x-cg-pro-api-key': 'cg-secret-key' },
      timeoutMs: 10_000,
    }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/redirect to another origin/);
    expect(b.requests.filter((r) => r.headers['x-cg-pro-api-key'] !== undefined)).toHaveLength(0);
  });

  it('a redirect within the same origin is followed, with the key', async () => {
    a.queue('finnhub', '/quote', { status: 307, headers: { location: `${a.finnhubUrl}/stock/profile2?symbol=AAPL` }, body: '' });
    const res = await get('/quote', { 'X-Finnhub-Token': 'fh-key' });
    expect(res.status).toBe(200);
    const followed = a.requestsTo('finnhub', '/stock/profile2');
    expect(followed).toHaveLength(1);
    expect(followed[0].headers['x-finnhub-token']).toBe('fh-key');
  });

  it('a redirect loop ends with a clear failure', async () => {
    a.always('finnhub', '/quote', { status: 302, headers: { location: `${a.finnhubUrl}/quote?symbol=AAPL` }, body: '' });
    const err = await get('/quote', {}).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/more than 5 redirects/);
    expect(a.requestsTo('finnhub', '/quote').length).toBe(6);
  });

  it('item 5: http:// to a host other than loopback is cleartext to the network; loopback and https are not', () => {
    expect(cleartextRemoteUrl('http://finnhub.example.com/api/v1')).toBe(true);
    expect(cleartextRemoteUrl('http://10.0.0.5:8080/api')).toBe(true);
    expect(cleartextRemoteUrl('http://127.0.0.1:9000/api')).toBe(false);
    expect(cleartextRemoteUrl('http://localhost:9000/api')).toBe(false);
    expect(cleartextRemoteUrl('http://[::1]:9000/api')).toBe(false);
    expect(cleartextRemoteUrl('https://finnhub.io/api/v1')).toBe(false);
  });

  it('item 5: a fetch job on an http:// base URL that is not loopback logs a warning (once), before any request', async () => {
    const config = resolveConfig({ env: { FINNHUB_BASE_URL: 'http://finnhub.example.com/api/v1', FINNHUB_API_KEY: 'k' }, cwd: tempCwd() });
    const lines: Record<string, unknown>[] = [];
    // An aborted signal: fetch rejects before connecting, so nothing leaves this host.
    const ctx = {
      config,
      signal: AbortSignal.abort(new Error('test: no request')),
      job: { id: '1', name: 'FetchStockData' } as unknown as Job,
      redis: {} as never,
      // No rate limits here: no permit is asked, nothing touches Redis.
      limits: new ProviderLimits({ queue: config.queue, limits: {} }, {} as never),
      log: (event: string, fields: Record<string, unknown> = {}) => lines.push({ event, ...fields }),
    };
    const payload = { method: 'getStockQuote', params: { symbol: 'AAPL' } };
    await expect(FetchStockData.process(payload, ctx)).rejects.toThrow();
    await expect(FetchStockData.process(payload, ctx)).rejects.toThrow();
    const warnings = lines.filter((l) => l.event === 'provider-cleartext');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 'warn', provider: 'Finnhub' });
    expect(String(warnings[0].msg)).toMatch(/http:\/\/finnhub\.example\.com.*cleartext/);
  });

  it('item 5: doctor warns about an http:// provider base URL that is not loopback', async () => {
    const r = await runCli(['doctor', '--json'], { env: { REDIS_URL: plain, COINGECKO_BASE_URL: 'http://user:pw@proxy.example.com/api/v3' } });
    const check = r.json.checks.find((c: { id: string }) => c.id === 'providers.coingecko.cleartext');
    expect(check).toMatchObject({ status: 'warn' });
    expect(check.message).toMatch(/http:\/\/user:\*\*\*\*@proxy\.example\.com.*cleartext/);
    expect(check.fix).toMatch(/https:\/\//);
    expect(r.stdout).not.toContain(':pw@');
    expect(r.json.checks.find((c: { id: string }) => c.id === 'providers.finnhub.cleartext')).toBeUndefined();
  });
});
