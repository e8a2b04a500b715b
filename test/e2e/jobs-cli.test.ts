import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { jobEnv, type JobEnv } from '../helpers/job-env.js';
import { startJobWorker, type TestWorker } from '../helpers/job-worker.js';
import { fixture, ProviderServer } from '../helpers/provider-server.js';
import { RedisServer } from '../helpers/redis-server.js';

// Runs the BUILT CLI (`npm run build` first). The worker is the test helper (the job processors in
// process); the CLI dispatches and waits like an operator would.
const redisUrl = inject('plainRedisUrl');

let server: ProviderServer;
let env: JobEnv;
let worker: TestWorker;
const cli = (args: string[], extraEnv: Record<string, string> = {}) => runCli(args, { env: { ...env.env, ...extraEnv }, cwd: env.cwd, timeoutMs: 60_000 });

async function counts(queue: string): Promise<Record<string, number>> {
  const conn = env.queueDb.duplicate();
  const q = new Queue(queue, { connection: conn, prefix: env.config.queue.prefix });
  try {
    return await q.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized');
  } finally {
    await q.close();
    conn.disconnect();
  }
}

beforeAll(async () => {
  server = await ProviderServer.start();
  env = await jobEnv(redisUrl, {
    label: 'cli',
    env: {
      COINGECKO_BASE_URL: server.coingeckoUrl,
      COINGECKO_API_KEY: 'demo-k',
      FINNHUB_BASE_URL: server.finnhubUrl,
      FINNHUB_API_KEY: 'fh-k',
      CRYPTO_CACHE_DURATION: '900',
    },
  });
  worker = await startJobWorker(env.config, ['default', 'emails'], { concurrency: 3 });
});
afterAll(async () => {
  await worker?.close();
  await env?.cleanup();
  await server?.close();
});

describe('rqctl jobs', () => {
  it('lists the bundled job types with queue, tries, backoff and timeout', async () => {
    const r = await cli(['jobs', '--json']);
    expect(r.exitCode).toBe(0);
    const byName = Object.fromEntries(r.json.jobs.map((j: any) => [j.name, j]));
    expect(Object.keys(byName).sort()).toEqual([
      'FetchCryptoData',
      'FetchStockData',
      'RefreshCryptoCache',
      'RefreshStockCache',
      'SelectRaffleWinners',
      'SendEmail',
      'UpdateRaffleStatuses',
    ]);
    for (const j of r.json.jobs) expect(j).toMatchObject({ tries: 3, backoff: 60, timeout: 300, queue: j.name === 'SendEmail' ? 'emails' : 'default' });
    expect(byName.FetchStockData.methods.map((m: any) => m.name)).toEqual([
      'getStockList',
      'getStockQuote',
      'getStockProfile',
      'getMarketNews',
      'getStockChart',
    ]);
    const human = await cli(['jobs']);
    expect(human.stdout).toMatch(/FetchCryptoData\s+default\s+3\s+60s\s+300s\s+getCryptoList, getCryptoDetail/);
  });

  it('shows one job type with its params and defaults', async () => {
    const r = await cli(['jobs', 'FetchCryptoData', '--json']);
    const list = r.json.jobs[0].methods.find((m: any) => m.name === 'getCryptoList');
    expect(list).toMatchObject({ request: 'GET /coins/markets', family: 'crypto_list' });
    expect(list.params).toContainEqual(expect.objectContaining({ name: 'page', type: 'integer', default: 1 }));
    expect((await cli(['jobs', 'Nope'])).exitCode).toBe(2);
  });
});

describe('rqctl cache key', () => {
  it('prints CACHE_PREFIX + family + _ + md5 of the canonical params; page=1 and the default give the same key', async () => {
    const a = await cli(['cache', 'key', 'FetchCryptoData', 'getCryptoList', '--param', 'vs_currency=usd']);
    expect(a.exitCode).toBe(0);
    expect(a.stdout).toBe(`${env.id}:crypto_list_5caf34cb14e1f8d64c9acb9735e78810\n`);
    const b = await cli(['cache', 'key', 'FetchCryptoData', 'getCryptoList', '--param', 'page=1', '--param', 'per_page=100']);
    expect(b.stdout).toBe(a.stdout);
    const j = await cli(['cache', 'key', 'FetchCryptoData', 'getCryptoList', '--json']);
    expect(j.json).toMatchObject({
      key: a.stdout.trim(),
      family: 'crypto_list',
      ttl: 900,
      canonical: '{"order":"market_cap_desc","page":1,"per_page":100,"vs_currency":"usd"}',
    });
  });

  it('refuses values that cannot be coerced, unknown methods and jobs without keys (exit 2)', async () => {
    const bad = await cli(['cache', 'key', 'FetchCryptoData', 'getCryptoList', '--param', 'page=two']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('page must be an integer (got "two")');
    expect((await cli(['cache', 'key', 'FetchCryptoData', 'getStockQuote'])).exitCode).toBe(2);
    expect((await cli(['cache', 'key', 'SendEmail', 'new-inquiry'])).exitCode).toBe(2);
    expect((await cli(['cache', 'key', 'FetchStockData', 'getStockQuote'])).stderr).toMatch(/needs symbol/);
  });
});

describe('rqctl dispatch', () => {
  it('--wait exits 0 and the key `cache key` prints holds the provider body byte for byte with the TTL', async () => {
    const r = await cli(['dispatch', 'FetchCryptoData', 'getCryptoList', '--param', 'vs_currency=usd', '--wait']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/completed/);
    const key = (await cli(['cache', 'key', 'FetchCryptoData', 'getCryptoList', '--param', 'vs_currency=usd'])).stdout.trim();
    expect(Buffer.compare((await env.cacheDb.getBuffer(key))!, fixture('coingecko/coins_markets.json'))).toBe(0);
    const ttl = await env.cacheDb.ttl(key);
    expect(ttl).toBeGreaterThan(890);
    expect(ttl).toBeLessThanOrEqual(900);
  });

  it('--json prints {id, queue, name}; --delay, --tries and --backoff reach the job', async () => {
    const r = await cli(['dispatch', 'FetchStockData', 'getStockQuote', '--param', 'symbol=TSLA', '--delay', '1h', '--tries', '5', '--backoff', '7', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ queue: 'default', name: 'FetchStockData' });
    expect(typeof r.json.id).toBe('string');
    const conn = env.queueDb.duplicate();
    const q = new Queue('default', { connection: conn, prefix: env.config.queue.prefix });
    try {
      const job = (await q.getJob(r.json.id))!;
      expect(await job.getState()).toBe('delayed');
      expect(job.opts.attempts).toBe(5);
      expect(job.opts.backoff).toEqual({ type: 'fixed', delay: 7000 });
      expect(job.data).toEqual({ method: 'getStockQuote', params: { symbol: 'TSLA' } });
      await job.remove();
    } finally {
      await q.close();
      conn.disconnect();
    }
  });

  it('a provider 401 makes --wait exit 4 at once with the status and message', async () => {
    server.queue('finnhub', '/stock/profile2', { status: 401, fixture: 'finnhub/error_401.json' });
    const r = await cli(['dispatch', 'FetchStockData', 'getStockProfile', '--param', 'symbol=ZZZZ', '--wait', '--timeout', '30s']);
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toMatch(/failed after 1 attempt: Finnhub GET \/stock\/profile2 → HTTP 401: Invalid API key/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('--wait --json on a failure prints the result and a JSON error', async () => {
    server.queue('coingecko', '/coins/markets', { status: 401, fixture: 'coingecko/error_401.json' });
    const r = await cli(['dispatch', 'FetchCryptoData', 'getCryptoList', '--param', 'page=42', '--wait', '--json']);
    expect(r.exitCode).toBe(4);
    expect(r.json).toMatchObject({ name: 'FetchCryptoData', queue: 'default', state: 'failed', attemptsMade: 1 });
    expect(r.json.failedReason).toContain('API Key Missing');
    expect(JSON.parse(r.stderr.trim().split('\n').pop()!).error.code).toBe('JOB_FAILED');
  });

  it('a payload that fails the schema is refused with exit 2 and nothing is enqueued', async () => {
    const before = await counts('default');
    const cases = [
      ['dispatch', 'FetchCryptoData', 'getCryptoList', '--param', 'page=abc'],
      ['dispatch', 'FetchCryptoData', 'getCryptoNothing'],
      ['dispatch', 'FetchCryptoData'],
      ['dispatch', 'FetchStockData', 'getStockQuote'],
      ['dispatch', 'FetchCryptoData', 'getCryptoChart', '--param', 'id=bitcoin', '--param', 'days=forever'],
      ['dispatch', 'FetchCryptoData', 'getCryptoList', '--data', '{not json'],
      ['dispatch', 'RefreshCryptoCache', 'someMethod'],
      ['dispatch', 'NoSuchJob'],
    ];
    for (const args of cases) {
      const r = await cli(args);
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/^error: /);
    }
    const sendEmail = await cli(['dispatch', 'SendEmail', 'new-inquiry', '--param', 'name=Ann', '--param', 'email=nope']);
    expect(sendEmail.exitCode).toBe(2);
    expect(sendEmail.stderr).toContain('data.email: email must be an e-mail address');
    expect(sendEmail.stderr).toContain('data.message');
    expect(await counts('default')).toEqual(before);
    expect((await counts('emails')).waiting).toBe(0);
  });

  it('--data and --param combine, and --param wins', async () => {
    const r = await cli([
      'dispatch',
      'FetchCryptoData',
      '--data',
      '{"method":"getCryptoPrices","params":{"ids":"bitcoin","include_24hr_change":false}}',
      '--param',
      'ids=bitcoin,tether',
      '--wait',
      '--json',
    ]);
    expect(r.exitCode, r.stderr).toBe(0);
    const req = server.requestsTo('coingecko', '/simple/price').pop()!;
    expect(Object.fromEntries(req.query)).toEqual({ ids: 'bitcoin,tether', include_24hr_change: 'false', vs_currencies: 'usd' });
  });

  it('--wait gives up after --timeout with exit 4 when no worker takes the job', async () => {
    const r = await cli(['dispatch', 'UpdateRaffleStatuses', '--queue', 'nobody-listens', '--wait', '--timeout', '2s']);
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toMatch(/did not finish within 2 s \(it is waiting; it stays queued\)/);
    expect(r.stderr).toMatch(/worker consuming queue "nobody-listens"/);
  });

  it('an unreachable Redis exits 3 before anything else', async () => {
    const r = await cli(['dispatch', 'FetchStockData', 'getStockQuote', '--param', 'symbol=AAPL'], { REDIS_URL: 'redis://127.0.0.1:1/0' });
    expect(r.exitCode).toBe(3);
  });
});

describe('rqctl raffles', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await RedisServer.start();
    const c = redis.client(0);
    const t = Math.floor(Date.now() / 1000);
    await c.sadd('raffles', '1', '2');
    await c.hset('raffle:1', { name: 'Spring draw', status: 'ended', starts_at: t - 7200, ends_at: t - 60, winners_count: 2 });
    await c.sadd('raffle:1:entries', 'u1', 'u2', 'u3');
    await c.rpush('raffle:1:winners', 'u3', 'u1');
    await c.hset('raffle:2', { name: 'Summer draw', status: 'scheduled', starts_at: t - 60, ends_at: t + 3600, prize: 'bike' });
    c.disconnect();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('lists raffles with status, the status due, entries and winners', async () => {
    const r = await runCli(['raffles', 'list', '--json'], { env: { REDIS_URL: redis.url(0) } });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.json.raffles).toEqual([
      expect.objectContaining({ id: '1', name: 'Spring draw', status: 'ended', entries: 3, winners: 2, winnersCount: 2 }),
      expect.objectContaining({ id: '2', name: 'Summer draw', status: 'scheduled', dueStatus: 'active', entries: 0, winners: 0 }),
    ]);
    const human = await runCli(['raffles', 'list'], { env: { REDIS_URL: redis.url(0) } });
    expect(human.stdout).toMatch(/2\s+Summer draw\s+scheduled → active due/);
  });

  it('shows one raffle with its winners and extra fields; an unknown id exits 2', async () => {
    const r = await runCli(['raffles', 'show', '1', '--json'], { env: { REDIS_URL: redis.url(0) } });
    expect(r.json).toMatchObject({ id: '1', winnerIds: ['u3', 'u1'], entries: 3 });
    const human = await runCli(['raffles', 'show', '2'], { env: { REDIS_URL: redis.url(0) } });
    expect(human.stdout).toMatch(/prize\s+bike/);
    const missing = await runCli(['raffles', 'show', '99'], { env: { REDIS_URL: redis.url(0) } });
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain('raffle 99 not found');
  });
});
