import { existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Queue } from 'bullmq';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import '../../src/jobs/index.js';
import { dispatch, prepareDispatch } from '../../src/jobs/dispatch.js';
import { ProviderLimits } from '../../src/limits/provider-limits.js';
import { queueConnection } from '../../src/queue/queues.js';
import { artifactPath, DashboardProcess, freshProfile } from '../helpers/dashboard.js';
import { jobEnv, type JobEnv } from '../helpers/job-env.js';
import { ProviderServer } from '../helpers/provider-server.js';
import { eventually } from '../helpers/queue.js';
import { freePort } from '../helpers/redis-server.js';
import { CliProcess } from '../helpers/worker-process.js';

/**
 * The dashboard in a real browser: Debian's chromium, headless, driven by playwright-core with the
 * system executable (nothing is downloaded), against a real redis-server and two real `rqctl worker`
 * processes running the bundled FetchStockData against a local Finnhub stand-in. Screenshots go to
 * test-artifacts/.
 */

const CHROMIUM = '/usr/bin/chromium';
const skipReason = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is not installed (apt-get install chromium; .ci/run installs it)`;
if (skipReason) console.log(`[dashboard-browser] skipped: ${skipReason}`);

const redisUrl = inject('plainRedisUrl');
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

async function browser(): Promise<BrowserContext> {
  // A persistent context on a fresh, empty profile: the --user-data-dir of this run only.
  return chromium.launchPersistentContext(freshProfile(), { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1280, height: 900 } });
}

describe.skipIf(!!skipReason)('the dashboard in Chromium', () => {
  let provider: ProviderServer;
  let env: JobEnv;
  let queue: Queue;
  const workers: CliProcess[] = [];
  let dash: DashboardProcess;
  let readOnly: DashboardProcess;
  let ctx: BrowserContext;
  let failedId: string;
  const fetchJob = (method: string, params: Record<string, string>) =>
    dispatch(env.config, prepareDispatch(env.config, { job: 'FetchStockData', method, params, tries: 1 }));

  beforeAll(async () => {
    provider = await ProviderServer.start();
    provider.always('finnhub', '/quote', { status: 500, body: '{"error":"Internal Server Error"}' });
    // CoinGecko's budget in an hour's window: the permits a test takes stay in it however slow the host.
    env = await jobEnv(redisUrl, { label: 'dashb', env: { FINNHUB_BASE_URL: provider.finnhubUrl, FINNHUB_API_KEY: 'fh-key', COINGECKO_RATE_LIMIT: '100/h' } });
    queue = new Queue('default', { connection: queueConnection(env.config, 'worker'), prefix: env.config.queue.prefix });
    for (let i = 0; i < 2; i++) workers.push(new CliProcess(['worker', '--queue', 'default', '--concurrency', '2', '--sleep', '1'], env.env, env.cwd));
    await Promise.all(workers.map((w) => w.waitFor((e) => e.event === 'started', 30_000, 'the worker to start')));
    // Six quotes that complete… and one that fails (Finnhub answers 500 to /quote for now).
    for (const symbol of ['AAPL', 'MSFT', 'NVDA', 'AMZN', 'GOOGL', 'META']) await fetchJob('getStockProfile', { symbol });
    await eventually(async () => (await queue.getCompletedCount()) >= 6, 30_000, '6 completed jobs');
    failedId = (await fetchJob('getStockQuote', { symbol: 'TSLA' })).id;
    await eventually(async () => (await queue.getFailedCount()) === 1, 30_000, 'the failed job');
    [dash, readOnly] = await Promise.all([DashboardProcess.start([], env.env, env.cwd), DashboardProcess.start(['--read-only'], env.env, env.cwd)]);
    ctx = await browser();
  }, 120_000);

  afterAll(async () => {
    await ctx?.close();
    await Promise.all([dash?.stop(), readOnly?.stop(), ...workers.map((w) => w.stop())]);
    await queue?.close();
    await provider?.close();
    await env?.cleanup();
  }, 60_000);

  async function open(url: string): Promise<Page> {
    const page = await ctx.newPage();
    const foreign: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(new URL(url).origin) && !r.url().startsWith('data:')) foreign.push(r.url());
    });
    await page.goto(url);
    (page as Page & { foreign?: string[] }).foreign = foreign;
    return page;
  }

  it('the overview shows the workers, the queues and a chart with data points', async () => {
    const page = await open(dash.url);
    await page.waitForSelector('body[data-loaded="true"]');
    const pids = workers.map((w) => String(w.pid));
    await eventually(async () => (await page.locator('#workers tbody tr').count()) === 2, 15_000, 'two workers on the page');
    const rows = await page.locator('#workers tbody tr').allInnerTexts();
    for (const pid of pids) expect(rows.some((r) => r.includes(pid))).toBe(true);
    const row = page.locator('#queues tr[data-queue="default"]');
    await expect.poll(() => row.innerText()).toMatch(/^default\s+0\s+0\s+0\s+1\s+6\b/);
    // The completed chart has data: BullMQ's metrics, as `rqctl worker` records them.
    const completed = page.locator('#chart-completed');
    await expect.poll(async () => Number(await completed.getAttribute('data-total'))).toBeGreaterThanOrEqual(6);
    expect(Number(await completed.getAttribute('data-points'))).toBeGreaterThan(0);
    expect(await page.locator('#chart-completed canvas').count()).toBeGreaterThan(0);
    expect(Number(await page.locator('#chart-failed').getAttribute('data-total'))).toBeGreaterThanOrEqual(1);
    await expect.poll(() => page.locator('#roles [data-role="queue"]').innerText()).toContain('reachable');
    await page.screenshot({ path: artifactPath('dashboard-overview.png'), fullPage: true });
    expect((page as Page & { foreign?: string[] }).foreign).toEqual([]);
    await page.close();
  });

  it('the overview shows the provider limits: use in the window, a pause after a 429', async () => {
    const limits = new ProviderLimits(env.config, env.queueDb);
    for (let i = 0; i < 5; i++) expect(await limits.take('coingecko')).toEqual({ granted: true });
    await limits.pause('coingecko', 600_000);
    const page = await open(dash.url);
    await page.waitForSelector('body[data-loaded="true"]');
    expect(await page.locator('#limits-section h2').innerText()).toBe('Provider limits');
    const coingecko = page.locator('#limits tr[data-provider="coingecko"]');
    // provider, limit, used in window, paused until (time left), throttled (1h), 429s (1h)
    expect(await coingecko.innerText()).toMatch(/^coingecko\s+100\/h\s+5\/100\s+.+ \(\d+ min \d+ s left\)\s+0\s+1$/);
    // Finnhub's two limits (the workers above took some of its permits).
    expect(await page.locator('#limits tr[data-provider="finnhub"]').innerText()).toMatch(/^finnhub\s+60\/min, 30\/s\s+\d+\/60, \d+\/30\s+–\s+0\s+0$/);
    await page.locator('#limits-section').screenshot({ path: artifactPath('dashboard-provider-limits.png') });
    await page.close();
  });

  it('read-only: the job browser shows the failed job without a retry control, and a forged PUT gets 403', async () => {
    const page = await open(`${readOnly.url}queues/queue/default?status=failed`);
    await page.getByText('FetchStockData').first().waitFor();
    await page.getByText('HTTP 500').first().waitFor();
    expect(await page.locator('[class*="jobActions"] svg.lucide-refresh-cw').count()).toBe(0);
    expect(await page.getByText('Retry all').count()).toBe(0);
    await page.screenshot({ path: artifactPath('dashboard-read-only-failed.png') });
    // The same request the retry button would send, from the dashboard's own page.
    const status = await page.evaluate(async (id) => (await fetch(`api/queues/default/${id}/retry`, { method: 'PUT' })).status, failedId);
    expect(status).toBe(403);
    expect(await queue.getJobState(failedId)).toBe('failed');
    await page.close();
  });

  it('a page on another site cannot make the browser change anything (cross-origin POST refused)', async () => {
    // A "malicious" page on another origin (another port of 127.0.0.1) that posts to the dashboard.
    const target = `${dash.url}queues/api/queues/default/add`;
    const evil: Server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(
        `<!doctype html><script>fetch(${JSON.stringify(target)}, {method:'POST', mode:'no-cors', headers:{'content-type':'text/plain'}, body:'{"name":"FetchStockData","data":{}}'}).finally(() => document.title = 'sent')</script>`,
      );
    });
    const port = await new Promise<number>((r) => evil.listen(0, '127.0.0.1', () => r((evil.address() as AddressInfo).port)));
    const before = await queue.getJobCounts();
    try {
      const page = await ctx.newPage();
      await page.goto(`http://127.0.0.1:${port}/`);
      await expect.poll(() => page.title()).toBe('sent');
      await page.close();
    } finally {
      evil.closeAllConnections();
      await new Promise((r) => evil.close(r));
    }
    const refused = await eventually(async () => dash.logEvents().find((e) => e.event === 'dashboard-refused' && e.action === 'add'), 10_000, 'the refusal');
    expect(refused).toMatchObject({ status: 403, queue: 'default' });
    const after = await queue.getJobCounts();
    expect(after.waiting + after.active + after.completed).toBe(before.waiting + before.active + before.completed);
  });

  it('a failed job is found in the job browser, retried, and completes', async () => {
    const page = await open(`${dash.url}queues/queue/default?status=failed`);
    await page.getByText('HTTP 500').first().waitFor();
    await page.screenshot({ path: artifactPath('dashboard-job-browser-failed.png') });
    provider.reset(); // Finnhub recovers
    await page.locator('[class*="jobActions"] button:has(svg.lucide-refresh-cw)').first().click();
    await page.getByText('Are you sure that you want to retry this job?').waitFor();
    await page.getByRole('button', { name: 'Confirm' }).click();
    await eventually(async () => (await queue.getJobState(failedId)) === 'completed', 30_000, 'the retried job to complete');
    expect(await queue.getFailedCount()).toBe(0);
    expect(provider.requestsTo('finnhub', '/quote')).toHaveLength(1);
    const logged = await eventually(async () => dash.logEvents().find((e) => e.event === 'dashboard-action' && e.action === 'retry'), 10_000, 'the action log');
    expect(logged).toMatchObject({ queue: 'default', jobId: failedId, jobs: 1, msg: `retry job ${failedId} on queue default` });
    await page.close();
  });

  it('with Redis unreachable the page still loads and says so', async () => {
    const down = await DashboardProcess.start([], { REDIS_URL: `redis://127.0.0.1:${await freePort()}/0` });
    try {
      const page = await open(down.url);
      await page.waitForSelector('body[data-loaded="true"]');
      expect(await page.locator('#banner').innerText()).toMatch(/^Redis unreachable: .*refused the connection/);
      expect(await page.locator('#roles .card.fail').count()).toBe(3);
      await page.screenshot({ path: artifactPath('dashboard-redis-down.png') });
      await page.close();
    } finally {
      await down.stop();
    }
  });

  it('page weight: the JS and CSS of / stay small', async () => {
    const page = await ctx.newPage();
    const sizes: { url: string; type: string; bytes: number }[] = [];
    page.on('response', async (r) => {
      const type = r.request().resourceType();
      if (type === 'script' || type === 'stylesheet') sizes.push({ url: r.url(), type, bytes: (await r.body()).length });
    });
    await page.goto(dash.url);
    await page.waitForSelector('body[data-loaded="true"]');
    await page.close();
    const js = sizes.filter((s) => s.type === 'script').reduce((a, s) => a + s.bytes, 0);
    const css = sizes.filter((s) => s.type === 'stylesheet').reduce((a, s) => a + s.bytes, 0);
    console.log(
      `[dashboard-browser] first load of /: ${js} bytes of JS, ${css} bytes of CSS (${sizes.map((s) => `${new URL(s.url).pathname} ${s.bytes}`).join(', ')})`,
    );
    expect(sizes.map((s) => new URL(s.url).pathname).sort()).toEqual([
      '/assets/app.css',
      '/assets/app.js',
      '/assets/uPlot.iife.min.js',
      '/assets/uPlot.min.css',
    ]);
    expect(statSync(artifactPath('dashboard-overview.png')).size).toBeGreaterThan(10_000);
  });
});
