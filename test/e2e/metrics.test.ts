import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
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
  ['rqctl_cache_keys', 'GAUGE', ['family']],
  ['rqctl_redis_up', 'GAUGE', ['role']],
  ['rqctl_redis_used_memory_bytes', 'GAUGE', ['role']],
  ['rqctl_redis_maxmemory_bytes', 'GAUGE', ['role']],
  ['rqctl_redis_evicted_keys_total', 'COUNTER', ['role']],
  ['rqctl_redis_keyspace_hits_total', 'COUNTER', ['role']],
  ['rqctl_redis_keyspace_misses_total', 'COUNTER', ['role']],
];

/** Series whose value moves by itself between two scrapes (time, memory, the scrapes' own lookups). */
const VOLATILE = /^rqctl_(queue_oldest_ready_seconds|scheduler_heartbeat_age_seconds|redis_used_memory_bytes|redis_keyspace_(hits|misses)_total)\b/;

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
      env: { FINNHUB_BASE_URL: server.finnhubUrl, FINNHUB_API_KEY: 'fh-key', RQCTL_EXTRA_JOBS: TEST_JOBS },
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
    expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
  });
});
