import { request } from 'node:http';
import { createServer, type Server } from 'node:net';
import { Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { resolveConfig } from '../../src/config/resolve.js';
import { ProviderLimits } from '../../src/limits/provider-limits.js';
import { closeClient, connectRole } from '../../src/redis/connect.js';
import { runCli, tempCwd } from '../helpers/cli.js';
import { DashboardProcess } from '../helpers/dashboard.js';
import { addJob, eventually, removePrefix, testQueue, uniquePrefix } from '../helpers/queue.js';
import { freePort, RedisServer } from '../helpers/redis-server.js';
import { CliProcess } from '../helpers/worker-process.js';

const redisUrl = inject('plainRedisUrl');

/**
 * `rqctl dashboard`'s rules, over HTTP (the browser tests are in dashboard-browser.test.ts): refusals
 * before listening, basic auth, read-only, same-origin changes, the action log, /healthz.
 */
describe('rqctl dashboard: refusals before listening', () => {
  it('a public host without DASHBOARD_USER/DASHBOARD_PASSWORD exits 2 and never listens', async () => {
    const port = await freePort();
    const r = await runCli(['dashboard', '--host', '0.0.0.0', '--port', String(port)], { env: { REDIS_URL: redisUrl } });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('the dashboard would listen on 0.0.0.0 without credentials');
    expect(r.stderr).toContain('set DASHBOARD_USER and DASHBOARD_PASSWORD');
    expect(r.stdout).toBe('');
  });

  it('--base-path without a leading slash exits 2', async () => {
    const r = await runCli(['dashboard', '--base-path', 'rqctl'], { env: { REDIS_URL: redisUrl } });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('--base-path must start with "/" (got "rqctl")');
  });

  it('only one of DASHBOARD_USER and DASHBOARD_PASSWORD exits 2', async () => {
    const r = await runCli(['dashboard'], { env: { REDIS_URL: redisUrl, DASHBOARD_USER: 'ops' } });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('DASHBOARD_USER is set but DASHBOARD_PASSWORD is not');
  });

  it('a port in use exits 3 and names the process holding it', async () => {
    const holder: Server = createServer();
    const port = await new Promise<number>((resolve) => holder.listen(0, '127.0.0.1', () => resolve((holder.address() as { port: number }).port)));
    try {
      const r = await runCli(['dashboard', '--port', String(port)], { env: { REDIS_URL: redisUrl } });
      expect(r.exitCode).toBe(3);
      expect(r.stderr).toContain(`port ${port} on 127.0.0.1 is in use by pid ${process.pid} (`);
    } finally {
      await new Promise((r) => holder.close(r));
    }
  });
});

describe('rqctl dashboard: auth, read-only, origins, the action log', () => {
  const prefix = uniquePrefix('dash');
  // CoinGecko's budget in an hour's window, so the permits a test takes stay in it however slow the host.
  const env = { REDIS_URL: redisUrl, QUEUE_PREFIX: prefix, COINGECKO_RATE_LIMIT: '100/h' };
  let open: DashboardProcess;
  let authed: DashboardProcess;
  let readOnly: DashboardProcess;
  const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

  /** A failed job in queue "default" of this test's prefix, failed the way a worker fails it; returns its id. */
  async function failedJob(): Promise<string> {
    const id = await addJob(redisUrl, prefix, 'default', 'FetchStockData', { method: 'getStockQuote', params: { symbol: 'X' } }, { attempts: 1 });
    const u = new URL(redisUrl);
    const worker = new Worker('default', null, { connection: { host: u.hostname, port: Number(u.port) }, prefix, autorun: false });
    try {
      // The oldest waiting job: the one just added, unless an earlier test retried one.
      const job = await worker.getNextJob('test-token');
      await job!.moveToFailed(new Error('HTTP 500 from finnhub'), 'test-token');
      return job!.id ?? id;
    } finally {
      await worker.close();
    }
  }

  beforeAll(async () => {
    [open, authed, readOnly] = await Promise.all([
      DashboardProcess.start([], env),
      DashboardProcess.start([], { ...env, DASHBOARD_USER: 'ops', DASHBOARD_PASSWORD: 's3cret pass' }),
      DashboardProcess.start(['--read-only'], env),
    ]);
  });

  afterAll(async () => {
    await Promise.all([open?.stop(), authed?.stop(), readOnly?.stop()]);
    await removePrefix(redisUrl, prefix);
  });

  it('with credentials every route but /healthz needs basic auth; a wrong one is 401', async () => {
    for (const path of ['', 'api/overview', 'queues/', 'queues/api/queues', 'assets/app.js', 'metrics']) {
      const none = await authed.fetch(path);
      expect(none.status, path).toBe(401);
      expect(none.headers.get('www-authenticate')).toMatch(/^Basic realm="rqctl dashboard"/);
      expect((await authed.fetch(path, { headers: basic('ops', 'wrong') })).status, path).toBe(401);
      expect((await authed.fetch(path, { headers: basic('admin', 's3cret pass') })).status, path).toBe(401);
      expect((await authed.fetch(path, { headers: basic('ops', 's3cret pass') })).status, path).toBe(200);
    }
    const health = await authed.fetch('healthz');
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ ok: true });
  });

  it('/api/overview is one JSON document: roles, queues, workers, charts, schedule, cache, doctor', async () => {
    const o = (await (await open.fetch('api/overview')).json()) as any;
    expect(o).toMatchObject({ version: 1, redis: { ok: true, error: null }, workers: [], workersError: null, queuesError: null });
    expect(o.roles.map((r: { role: string }) => r.role)).toEqual(['queue', 'cache', 'session']);
    expect(o.roles.every((r: { reachable: boolean; version: string }) => r.reachable && /^\d+\.\d+/.test(r.version))).toBe(true);
    expect(o.queues.map((q: { name: string }) => q.name)).toEqual(expect.arrayContaining(['default', 'emails']));
    expect(o.charts.hour.times).toHaveLength(60);
    expect(o.charts.day.times).toHaveLength(144);
    expect(o.schedule.entries.map((e: { name: string }) => e.name)).toContain('refresh-crypto-cache');
    expect(o.doctor.checks.find((c: { id: string }) => c.id === 'queue.reachable')).toMatchObject({ status: 'ok' });
    expect(o.cache.error).toBeNull();
  });

  it('/api/overview has the provider limits of `rqctl limits --json`: use in the window, a pause after a 429', async () => {
    const config = resolveConfig({ env, cwd: tempCwd() });
    const client = await connectRole(config, 'queue');
    try {
      const limits = new ProviderLimits(config, client);
      for (let i = 0; i < 4; i++) expect(await limits.take('coingecko')).toEqual({ granted: true });
      await limits.pause('coingecko', 600_000);
    } finally {
      await closeClient(client);
    }
    const o = (await (await open.fetch('api/overview')).json()) as any;
    expect(o.limitsError).toBeNull();
    const coingecko = o.limits.find((p: { name: string }) => p.name === 'coingecko');
    expect(coingecko).toMatchObject({ limits: [{ max: 100, windowMs: 3_600_000, used: 4 }], throttled1h: 0, http429_1h: 1 });
    expect(Date.parse(coingecko.pausedUntil)).toBeGreaterThan(Date.now());
    expect(o.limits.map((p: { name: string }) => p.name)).toEqual(['coingecko', 'finnhub']);
    // The same fields and figures as the CLI (nothing took a permit in between).
    const cli = await runCli(['limits', '--json'], { env });
    expect(cli.exitCode, cli.stderr).toBe(0);
    expect(o.limits).toEqual(cli.json.providers);
  });

  it('/metrics serves the same Prometheus exposition as `rqctl metrics` (OpenMetrics when asked)', async () => {
    const res = await authed.fetch('metrics', { headers: basic('ops', 's3cret pass') });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toMatch(/^# TYPE bullmq_job_count gauge$/m);
    expect(text).toMatch(/^bullmq_job_count\{queue="default",state="failed"\} \d+$/m);
    expect(text).toMatch(/^rqctl_redis_up\{role="queue"\} 1$/m);
    const om = await authed.fetch('metrics', { headers: { ...basic('ops', 's3cret pass'), accept: 'application/openmetrics-text; version=1.0.0' } });
    expect(om.headers.get('content-type')).toMatch(/^application\/openmetrics-text/);
    expect(await om.text()).toMatch(/# EOF\n$/);
  });

  it('read-only: the server answers 403 to anything but GET and HEAD, and logs the refusal', async () => {
    const id = await failedJob();
    const r = await readOnly.fetch(`queues/api/queues/default/${id}/retry`, { method: 'PUT', headers: { origin: new URL(readOnly.url).origin } });
    expect(r.status).toBe(403);
    expect(((await r.json()) as any).error).toMatch(/read-only/);
    expect((await readOnly.fetch('queues/api/queues/default/add', { method: 'POST', headers: { origin: new URL(readOnly.url).origin } })).status).toBe(403);
    expect((await readOnly.fetch('healthz', { method: 'HEAD' })).status).toBe(200);
    const q = testQueue(redisUrl, prefix, 'default');
    try {
      expect(await q.getJobState(id)).toBe('failed');
    } finally {
      await q.close();
    }
    await eventually(async () => readOnly.logEvents().find((e) => e.event === 'dashboard-refused' && e.jobId === id), 5000, 'the refusal in the log');
  });

  it('a change from another origin, or without one, is 403; from its own origin it is done and logged', async () => {
    const id = await failedJob();
    const own = new URL(open.url).origin;
    const path = `queues/api/queues/default/${id}/retry`;
    const cases: [Record<string, string>, string][] = [
      [{ origin: 'http://evil.example' }, 'cross-origin'],
      [{ origin: own.replace(/:\d+$/, ':1') }, 'another port'],
      [{ origin: 'null' }, 'opaque origin'],
      [{ referer: 'http://evil.example/page' }, 'foreign referer'],
      [{}, 'no origin at all'],
      [{ origin: own, 'sec-fetch-site': 'cross-site' }, 'sec-fetch-site cross-site'],
    ];
    for (const [headers, why] of cases) expect((await open.fetch(path, { method: 'PUT', headers })).status, why).toBe(403);
    const q = testQueue(redisUrl, prefix, 'default');
    try {
      expect(await q.getJobState(id)).toBe('failed');
      expect((await open.fetch(path, { method: 'PUT', headers: { referer: `${open.url}queues/queue/default` } })).status).toBe(204);
      expect(['waiting', 'active', 'completed']).toContain(await q.getJobState(id));
    } finally {
      await q.close();
    }
    const done = await eventually(async () => open.logEvents().find((e) => e.event === 'dashboard-action' && e.jobId === id), 5000, 'the action in the log');
    expect(done).toMatchObject({ action: 'retry', queue: 'default', jobs: 1, status: 204, msg: `retry job ${id} on queue default` });
  });

  it('a bulk action is logged with the number of jobs it touched', async () => {
    await failedJob();
    await failedJob();
    const q = testQueue(redisUrl, prefix, 'default');
    try {
      const failed = await q.getFailedCount();
      expect(failed).toBeGreaterThanOrEqual(2);
      const r = await open.fetch('queues/api/queues/default/retry/failed', { method: 'PUT', headers: { origin: new URL(open.url).origin } });
      expect(r.status).toBe(200);
      expect(await q.getFailedCount()).toBe(0);
      const logged = await eventually(async () => open.logEvents().find((e) => e.action === 'retry-all'), 5000, 'retry-all in the log');
      expect(logged).toMatchObject({ event: 'dashboard-action', queue: 'default', state: 'failed', jobs: failed });
    } finally {
      await q.close();
    }
  });

  it('on loopback it answers only to loopback host names (no DNS rebinding)', async () => {
    // fetch() will not send another Host: a plain HTTP request does, like a rebinding browser would.
    const status = (host: string) =>
      new Promise<number>((resolve, reject) => {
        const u = new URL('api/overview', open.url);
        request({ host: u.hostname, port: u.port, path: u.pathname, headers: { host } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
          .on('error', reject)
          .end();
      });
    expect(await status(`evil.example:${new URL(open.url).port}`)).toBe(403);
    expect(await status(`localhost:${new URL(open.url).port}`)).toBe(200);
  });
});

describe('rqctl dashboard: Redis unreachable at start', () => {
  it('starts anyway: /healthz 503 with the reason, the overview says so; once Redis is up, 200', async () => {
    const port = await freePort();
    const dash = await DashboardProcess.start([], { REDIS_URL: `redis://127.0.0.1:${port}/0` }, tempCwd());
    let server: RedisServer | undefined;
    try {
      const h = await dash.fetch('healthz');
      expect(h.status).toBe(503);
      const body = (await h.json()) as any;
      expect(body.ok).toBe(false);
      expect(body.error).toMatch(/127\.0\.0\.1:\d+ \(queue role\)/);
      const page = await dash.fetch('');
      expect(page.status).toBe(200);
      const o = (await (await dash.fetch('api/overview')).json()) as any;
      expect(o.redis.ok).toBe(false);
      expect(o.roles.every((r: { reachable: boolean }) => !r.reachable)).toBe(true);
      expect(o.limits).toEqual([]);
      expect(o.limitsError).toMatch(/refused the connection/);
      server = await RedisServer.start({ port });
      await eventually(async () => (await dash.fetch('healthz')).status === 200, 20_000, '/healthz to turn 200');
      expect(((await (await dash.fetch('api/overview')).json()) as any).redis).toEqual({ ok: true, error: null });
    } finally {
      await dash.stop();
      await server?.stop();
    }
  });
});

describe('rqctl up serves the dashboard', () => {
  it('on 127.0.0.1, the next free port when the first is taken, with its URL in the ready event', async () => {
    const holder: Server = createServer();
    const taken = await new Promise<number>((resolve) => holder.listen(0, '127.0.0.1', () => resolve((holder.address() as { port: number }).port)));
    const prefix = uniquePrefix('dashup');
    const up = new CliProcess(['up', '--workers', '1', '--no-scheduler', '--status-interval', '10s'], {
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: prefix,
      DASHBOARD_PORT: String(taken),
    });
    try {
      const ready = await up.waitFor((e) => e.event === 'ready', 30_000, 'up to be ready');
      const url = new URL(ready.dashboard.url);
      expect(url.hostname).toBe('127.0.0.1');
      expect(Number(url.port)).toBeGreaterThan(taken);
      await eventually(async () => (await fetch(new URL('healthz', url))).status === 200, 10_000, '/healthz 200');
      const o = (await (await fetch(new URL('api/overview', url))).json()) as any;
      await eventually(
        async () => {
          const now = (await (await fetch(new URL('api/overview', url))).json()) as any;
          return now.workers.length === 1 ? now : undefined;
        },
        20_000,
        'the worker of up on the overview',
      );
      expect(o.redis.ok).toBe(true);
    } finally {
      await up.stop();
      await new Promise((r) => holder.close(r));
      await removePrefix(redisUrl, prefix);
    }
  });
});
