import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/resolve.js';
import { dispatchBulk } from '../../src/jobs/dispatch.js';
import { RedisServer } from '../helpers/redis-server.js';
import { ProviderServer } from '../helpers/provider-server.js';
import { runCli, tempCwd } from '../helpers/cli.js';
import { digest, startWorker, waitFor } from '../helpers/chaos.js';

/**
 * Fills a server until it refuses writes (noeviction): 64 KB values, then 512-byte ones to the last
 * few hundred bytes — really full, not a flag.
 */
async function fillUntilFull(server: RedisServer): Promise<number> {
  const c = server.client();
  let n = 0;
  try {
    for (const size of [65_536, 512]) {
      const pad = 'x'.repeat(size);
      for (;;) {
        try {
          await c.set(`pad:${size}:${n++}`, pad);
        } catch (e) {
          expect(String((e as Error).message)).toMatch(/^OOM/);
          break;
        }
      }
    }
    return n;
  } finally {
    c.disconnect();
  }
}

describe('the queue server full under noeviction (docs/reliability.md)', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await RedisServer.start({ args: ['--maxmemory', '4mb', '--maxmemory-policy', 'noeviction', '--enable-debug-command', 'local'] });
    expect(await fillUntilFull(server)).toBeGreaterThan(0);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('dispatch fails with a clear error and exit 3, and nothing is half-written', async () => {
    const before = await digest(server);
    const r = await runCli(['dispatch', 'FetchStockData', 'getStockQuote', '--param', 'symbol=AAPL'], { env: { REDIS_URL: server.url() } });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(
      /^error: Redis at redis:\/\/127\.0\.0\.1:\d+\/0 \(queue role\) is out of memory \(maxmemory reached under noeviction\) and refused the write .*; nothing was enqueued$/m,
    );
    expect(r.stderr).toMatch(/^hint: .*maxmemory/m);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe('');
    expect(await digest(server)).toBe(before);

    const j = await runCli(
      ['dispatch', 'SendEmail', '--data', '{"template":"new-inquiry","data":{"name":"A","email":"a@example.com","message":"hi"}}', '--json'],
      { env: { REDIS_URL: server.url() } },
    );
    expect(j.exitCode).toBe(3);
    expect(JSON.parse(j.stderr.trim().split('\n').pop()!).error.code).toBe('REDIS_OOM');
    expect(await digest(server)).toBe(before);
  });

  it('once memory is freed, the same dispatch goes through', async () => {
    const c = server.client();
    await c.del('pad:65536:0', 'pad:65536:1', 'pad:65536:2', 'pad:65536:3');
    c.disconnect();
    const r = await runCli(['dispatch', 'FetchStockData', 'getStockQuote', '--param', 'symbol=AAPL', '--json'], { env: { REDIS_URL: server.url() } });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ queue: 'default', name: 'FetchStockData' });
  });
});

describe('the cache server full under allkeys-lru (docs/reliability.md)', () => {
  const stops: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const s of stops.reverse()) await s().catch(() => {});
  });

  it('fetch jobs keep completing while the cache evicts its oldest values; the queue loses nothing', async () => {
    const queue = await RedisServer.start({ args: ['--maxmemory-policy', 'noeviction'] });
    stops.push(() => queue.stop());
    const cache = await RedisServer.start({ args: ['--maxmemory', '3mb', '--maxmemory-policy', 'allkeys-lru'] });
    stops.push(() => cache.stop());
    const provider = await ProviderServer.start();
    stops.push(() => provider.close());
    // A 40 KB quote: the 3 MB cache holds a few dozen of them.
    const body = JSON.stringify({ c: 189.84, pad: 'x'.repeat(40_000) });
    provider.always('finnhub', '/quote', { body });
    const env = {
      REDIS_URL: queue.url(),
      REDIS_CACHE_URL: cache.url(),
      FINNHUB_BASE_URL: provider.finnhubUrl,
      FINNHUB_API_KEY: 'k',
      // The local stand-in has no plan: Finnhub's default 60/min would spread 200 fetches over minutes.
      FINNHUB_RATE_LIMIT: '100000/s',
      STOCK_CACHE_DURATION: '600',
    };

    await import('../../src/jobs/index.js');
    const config = resolveConfig({ env, cwd: tempCwd() });
    const n = 200;
    const jobs = await dispatchBulk(
      config,
      Array.from({ length: n }, (_, i) => ({ job: 'FetchStockData', data: { method: 'getStockQuote', params: { symbol: `S${i}` } } })),
    );
    const worker = await startWorker(env, ['--queue', 'default', '--concurrency', '4']);
    stops.push(() => worker.stop('SIGKILL'));
    const qc = queue.client();
    const cc = cache.client();
    stops.push(async () => {
      qc.disconnect();
      cc.disconnect();
    });
    await waitFor(`${n} fetch jobs to finish`, async () => (await qc.zcard('bull:default:completed')) + (await qc.zcard('bull:default:failed')) >= n, 90_000);
    expect(await qc.zcard('bull:default:failed')).toBe(0);
    expect(await qc.zcard('bull:default:completed')).toBe(n);
    // The cache really was full: it evicted, stayed within maxmemory, and holds the latest values.
    const info = await cc.info();
    expect(Number(/evicted_keys:(\d+)/.exec(info)![1])).toBeGreaterThan(0);
    expect(await cc.dbsize()).toBeLessThan(n);
    const last = jobs.at(-1)!.key!;
    expect(await cc.get(last)).toBe(body);
    expect(await cc.ttl(last)).toBeGreaterThan(500);
    // The queue server evicted nothing.
    expect(Number(/evicted_keys:(\d+)/.exec(await qc.info('stats'))![1])).toBe(0);
    expect(await worker.stop()).toEqual({ code: 0, signal: null });
  });
});
