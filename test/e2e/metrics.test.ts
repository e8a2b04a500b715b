import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { ProviderLimits } from '../../src/limits/provider-limits.js';
import { runCli } from '../helpers/cli.js';
import { jobEnv, type JobEnv } from '../helpers/job-env.js';
import { parseExposition, sampleValue, type MetricFamily } from '../helpers/prometheus.js';
import { ProviderServer } from '../helpers/provider-server.js';
import { TEST_JOBS, testQueue } from '../helpers/queue.js';
import { freePort } from '../helpers/redis-server.js';
import { CliProcess } from '../helpers/worker-process.js';

const plain = inject('plainRedisUrl');

/** docs/metrics.md: every series, its type and its labels (a histogram's `le` aside). */
const SPEC: [name: string, type: MetricFamily['type'], labels: string[]][] = [
  ['bullmq_job_count', 'GAUGE', ['queue', 'state']],
  ['rqctl_queue_oldest_ready_seconds', 'GAUGE', ['queue']],
  ['rqctl_jobs_completed_total', 'COUNTER', ['name', 'queue']],
  ['rqctl_jobs_failed_total', 'COUNTER', ['name', 'queue']],
  ['rqctl_job_duration_seconds', 'HISTOGRAM', ['name', 'queue']],
  ['rqctl_job_wait_seconds', 'HISTOGRAM', ['name', 'queue']],
  ['rqctl_workers', 'GAUGE', ['queue']],
  ['rqctl_schedule_last_run_timestamp_seconds', 'GAUGE', ['entry', 'outcome']],
  ['rqctl_scheduler_heartbeat_age_seconds', 'GAUGE', []],
  ['rqctl_provider_requests_total', 'COUNTER', ['provider', 'status']],
  ['rqctl_provider_limit', 'GAUGE', ['provider', 'window']],
  ['rqctl_provider_limit_used', 'GAUGE', ['provider', 'window']],
  ['rqctl_provider_paused_seconds', 'GAUGE', ['provider']],
  ['rqctl_provider_throttled_last_hour', 'GAUGE', ['provider']],
  ['rqctl_provider_http429_last_hour', 'GAUGE', ['provider']],
  ['rqctl_cache_keys', 'GAUGE', ['family']],
  ['rqctl_redis_up', 'GAUGE', ['role']],
  ['rqctl_redis_used_memory_bytes', 'GAUGE', ['role']],
  ['rqctl_redis_maxmemory_bytes', 'GAUGE', ['role']],
  ['rqctl_redis_evicted_keys_total', 'COUNTER', ['role']],
  ['rqctl_redis_keyspace_hits_total', 'COUNTER', ['role']],
  ['rqctl_redis_keyspace_misses_total', 'COUNTER', ['role']],
];

/** Series whose value moves by itself between two scrapes (time, memory, the scrapes' own lookups, a rate limit's window sliding). */
const VOLATILE =
  /^rqctl_(queue_oldest_ready_seconds|scheduler_heartbeat_age_seconds|redis_used_memory_bytes|redis_keyspace_(hits|misses)_total|provider_limit_used|provider_paused_seconds)\b/;

const started: CliProcess[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => p.stop()));
});

describe('rqctl metrics: the exposition of a real run', () => {
  let server: ProviderServer;
  let env: JobEnv;
  let url: string;
  let exporter: CliProcess;

  beforeAll(async () => {
    server = await ProviderServer.start();
    env = await jobEnv(plain, {
      label: 'met',
      // CoinGecko's budget in an hour's window, so the permits the test takes stay in it however slow the host.
      env: { FINNHUB_BASE_URL: server.finnhubUrl, FINNHUB_API_KEY: 'fh-key', RQCTL_EXTRA_JOBS: TEST_JOBS, COINGECKO_RATE_LIMIT: '100/h' },
      file: { schedule: [{ name: 'hello', cron: '* * * * *', command: 'true' }] },
    });
    server.queue('finnhub', '/stock/profile2', { status: 401, body: '{"error":"Invalid API key"}' });
    const q = testQueue(plain, env.config.queue.prefix, 'default');
    for (let i = 0; i < 5; i++) await q.add('TestNoop', { n: i });
    await q.add('Bogus', {}, { attempts: 1 });
    await q.add('FetchStockData', { method: 'getStockQuote', params: { symbol: 'AAPL' } });
    await q.add('FetchStockData', { method: 'getStockProfile', params: { symbol: 'AAPL' } });
    await q.close();
    const worker = await runCli(['worker', '--queue', 'default', '--stop-when-empty', '--sleep', '1'], { env: env.env, cwd: env.cwd, timeoutMs: 60_000 });
    expect(worker.exitCode, worker.stderr).toBe(0);
    const tick = await runCli(['scheduler', '--once'], { env: env.env, cwd: env.cwd });
    expect(tick.exitCode, tick.stderr).toBe(0);
    const port = await freePort();
    exporter = new CliProcess(['metrics', '--port', String(port)], env.env, env.cwd);
    await exporter.waitFor((e) => e.event === 'metrics.listening');
    url = `http://127.0.0.1:${port}/metrics`;
  });

  afterAll(async () => {
    await exporter?.stop();
    await env?.cleanup();
    await server?.close();
  });

  it('has every series of docs/metrics.md with its type and labels, in valid text format, with the run’s numbers', async () => {
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const m = parseExposition(await res.text());
    for (const [name, type, labels] of SPEC) {
      const family = m.get(name);
      expect(family, name).toBeDefined();
      expect(family!.type, name).toBe(type);
      expect(family!.metrics.length, `${name} has samples`).toBeGreaterThan(0);
      for (const s of family!.metrics) expect(Object.keys(s.labels ?? {}).sort(), name).toEqual(labels);
    }
    // Kept in Redis by the worker (it has exited: these are not its memory).
    expect(sampleValue(m, 'rqctl_jobs_completed_total', { queue: 'default', name: 'TestNoop' })).toBe(5);
    expect(sampleValue(m, 'rqctl_jobs_completed_total', { queue: 'default', name: 'FetchStockData' })).toBe(1);
    expect(sampleValue(m, 'rqctl_jobs_failed_total', { queue: 'default', name: 'FetchStockData' })).toBe(1);
    // A job name the registry does not know is counted, bounded, as `other`.
    expect(sampleValue(m, 'rqctl_jobs_failed_total', { queue: 'default', name: 'other' })).toBe(1);
    expect(m.get('rqctl_jobs_completed_total')!.metrics.map((s) => s.labels!.name)).not.toContain('Bogus');
    const noopRuns = m.get('rqctl_job_duration_seconds')!.metrics.find((s) => s.labels!.name === 'TestNoop')!;
    expect(Number(noopRuns.count)).toBe(5);
    expect(Number(noopRuns.buckets!['+Inf'])).toBe(5);
    expect(Number(m.get('rqctl_job_wait_seconds')!.metrics.find((s) => s.labels!.name === 'TestNoop')!.count)).toBe(5);
    expect(sampleValue(m, 'rqctl_provider_requests_total', { provider: 'finnhub', status: '2xx' })).toBe(1);
    expect(sampleValue(m, 'rqctl_provider_requests_total', { provider: 'finnhub', status: '4xx' })).toBe(1);
    // Read from Redis at scrape time.
    expect(sampleValue(m, 'bullmq_job_count', { queue: 'default', state: 'completed' })).toBe(6);
    expect(sampleValue(m, 'bullmq_job_count', { queue: 'default', state: 'failed' })).toBe(2);
    expect(sampleValue(m, 'bullmq_job_count', { queue: 'default', state: 'waiting' })).toBe(0);
    expect(sampleValue(m, 'rqctl_workers', { queue: 'default' })).toBe(0);
    expect(sampleValue(m, 'rqctl_cache_keys', { family: 'stock_quote' })).toBe(1);
    const lastRun = sampleValue(m, 'rqctl_schedule_last_run_timestamp_seconds', { entry: 'hello', outcome: 'ok' })!;
    expect(Math.abs(lastRun - Date.now() / 1000)).toBeLessThan(120);
    expect(sampleValue(m, 'rqctl_scheduler_heartbeat_age_seconds')).toBeLessThan(90);
    for (const role of ['queue', 'cache', 'session']) {
      expect(sampleValue(m, 'rqctl_redis_up', { role })).toBe(1);
      expect(sampleValue(m, 'rqctl_redis_used_memory_bytes', { role })).toBeGreaterThan(0);
    }
  });

  it('two exporters scraping at once give the same numbers', async () => {
    const port = await freePort();
    const second = new CliProcess(['metrics', '--port', String(port)], env.env, env.cwd);
    started.push(second);
    await second.waitFor((e) => e.event === 'metrics.listening');
    const bodies = await Promise.all([fetch(url), fetch(`http://127.0.0.1:${port}/metrics`), fetch(url)].map(async (p) => (await p).text()));
    const stable = (body: string) =>
      body
        .split('\n')
        .filter((l) => l && !l.startsWith('#') && !VOLATILE.test(l))
        .join('\n');
    expect(stable(bodies[0])).toContain('rqctl_jobs_completed_total{queue="default",name="TestNoop"} 5');
    expect(stable(bodies[1])).toBe(stable(bodies[0]));
    expect(stable(bodies[2])).toBe(stable(bodies[0]));
  });

  it('answers in OpenMetrics when the scraper asks for it', async () => {
    const res = await fetch(url, { headers: { accept: 'application/openmetrics-text; version=1.0.0,text/plain;version=0.0.4;q=0.5' } });
    expect(res.headers.get('content-type')).toMatch(/^application\/openmetrics-text; version=1\.0\.0/);
    const body = await res.text();
    expect(body.endsWith('# EOF\n')).toBe(true);
    expect(body).toContain('# TYPE rqctl_jobs_completed counter');
    expect(body).toContain('rqctl_jobs_completed_total{queue="default",name="TestNoop"} 5');
  });

  it('counts cache keys with a SCAN at most every 5 minutes: a scrape reuses the count kept in Redis', async () => {
    const before = parseExposition(await (await fetch(url)).text());
    const computedAt = sampleValue(before, 'rqctl_cache_keys_computed_timestamp_seconds')!;
    await env.cacheDb.set(`${env.id}:stock_quote_0123456789abcdef0123456789abcdef`, '{}', 'EX', 600);
    const after = parseExposition(await (await fetch(url)).text());
    expect(sampleValue(after, 'rqctl_cache_keys', { family: 'stock_quote' })).toBe(1);
    expect(sampleValue(after, 'rqctl_cache_keys_computed_timestamp_seconds')).toBe(computedAt);
    const kept = JSON.parse((await env.queueDb.get(`${env.config.queue.prefix}:rqctl:metrics:cache-keys`))!);
    expect(kept.at / 1000).toBe(computedAt);
    expect(kept.value.stock_quote).toBe(1);
  });

  it('shows each provider limit, its use in the window and a pause after a 429, the same as `rqctl limits --json`', async () => {
    const limits = new ProviderLimits(env.config, env.queueDb);
    for (let i = 0; i < 3; i++) expect(await limits.take('coingecko')).toEqual({ granted: true });
    const before = parseExposition(await (await fetch(url)).text());
    expect(sampleValue(before, 'rqctl_provider_limit', { provider: 'coingecko', window: '3600' })).toBe(100);
    expect(sampleValue(before, 'rqctl_provider_limit_used', { provider: 'coingecko', window: '3600' })).toBe(3);
    expect(sampleValue(before, 'rqctl_provider_paused_seconds', { provider: 'coingecko' })).toBe(0);
    expect(sampleValue(before, 'rqctl_provider_limit', { provider: 'finnhub', window: '60' })).toBe(60);
    expect(sampleValue(before, 'rqctl_provider_limit', { provider: 'finnhub', window: '1' })).toBe(30);

    // A 429 with Retry-After: 600, then a permit refused during the pause.
    await limits.pause('coingecko', 600_000);
    expect(await limits.take('coingecko')).toMatchObject({ granted: false, by: 'paused after HTTP 429' });
    const body = await (await fetch(url)).text();
    const m = parseExposition(body);
    expect(body).toMatch(/^rqctl_provider_limit_used\{provider="coingecko",window="3600"\} 3$/m);
    const paused = sampleValue(m, 'rqctl_provider_paused_seconds', { provider: 'coingecko' })!;
    expect(paused).toBeGreaterThan(0);
    expect(paused).toBeLessThanOrEqual(600);
    expect(sampleValue(m, 'rqctl_provider_paused_seconds', { provider: 'finnhub' })).toBe(0);
    expect(sampleValue(m, 'rqctl_provider_http429_last_hour', { provider: 'coingecko' })).toBe(1);
    expect(sampleValue(m, 'rqctl_provider_throttled_last_hour', { provider: 'coingecko' })).toBe(1);

    const cli = await runCli(['limits', '--json'], { env: env.env, cwd: env.cwd });
    expect(cli.exitCode, cli.stderr).toBe(0);
    const cg = cli.json.providers.find((p: { name: string }) => p.name === 'coingecko');
    expect(cg).toMatchObject({ limits: [{ max: 100, windowMs: 3_600_000, used: 3 }], throttled1h: 1, http429_1h: 1 });
    expect(Date.parse(cg.pausedUntil) / 1000 - Date.now() / 1000).toBeLessThanOrEqual(paused);
  });

  it('a limit whose keys Redis refuses to read leaves the limit series out; the rest of the scrape is served', async () => {
    const stats = `${env.config.queue.prefix}:rqctl:limits:finnhub:stats`;
    await env.queueDb.set(stats, 'not a hash');
    try {
      const res = await fetch(url);
      expect(res.status).toBe(200);
      const m = parseExposition(await res.text());
      expect(m.get('rqctl_provider_limit_used')?.metrics ?? []).toEqual([]);
      expect(sampleValue(m, 'rqctl_jobs_completed_total', { queue: 'default', name: 'TestNoop' })).toBe(5);
      // Each limit series reports the one failed read (at most every 30 s per series).
      const failed = await exporter.waitFor((e) => e.event === 'metrics.source-failed' && /WRONGTYPE/.test(e.msg), 10_000, 'the refusal in the log');
      expect(failed.source).toMatch(/^rqctl_provider_/);
    } finally {
      await env.queueDb.del(stats);
    }
  });

  it('metrics --once prints the same exposition and exits 0; SIGTERM stops the server with exit 0', async () => {
    const once = await runCli(['metrics', '--once'], { env: env.env, cwd: env.cwd });
    expect(once.exitCode, once.stderr).toBe(0);
    const m = parseExposition(once.stdout);
    expect(sampleValue(m, 'rqctl_jobs_completed_total', { queue: 'default', name: 'TestNoop' })).toBe(5);
    exporter.signal('SIGTERM');
    expect((await exporter.exit(15_000)).code).toBe(0);
  });
});

describe('rqctl metrics: failures', () => {
  it('--once exits 3 with one line when Redis is unreachable', async () => {
    const port = await freePort();
    const r = await runCli(['metrics', '--once'], { env: { REDIS_URL: `redis://127.0.0.1:${port}/0` } });
    expect(r.exitCode).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/refused the connection/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('the server keeps serving while Redis is down, with rqctl_redis_up 0', async () => {
    const port = await freePort();
    const redisPort = await freePort();
    const p = new CliProcess(['metrics', '--port', String(port)], { REDIS_URL: `redis://127.0.0.1:${redisPort}/0` });
    started.push(p);
    await p.waitFor((e) => e.event === 'metrics.listening');
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(res.status).toBe(200);
    const m = parseExposition(await res.text());
    expect(sampleValue(m, 'rqctl_redis_up', { role: 'queue' })).toBe(0);
    expect(m.has('rqctl_jobs_completed_total')).toBe(false);
    expect(m.has('rqctl_provider_limit_used')).toBe(false);
    expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
  });
});
