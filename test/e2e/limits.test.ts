import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Job } from 'bullmq';
import { Redis } from 'ioredis';
import { resolveConfig } from '../../src/config/resolve.js';
import { ProviderLimits } from '../../src/limits/provider-limits.js';
import { closeClient, connectRole } from '../../src/redis/connect.js';
import { ArrivalServer } from '../helpers/arrival-server.js';
import { ROOT, runCli, tempCwd } from '../helpers/cli.js';
import { eventually, removePrefix, testQueue, uniquePrefix } from '../helpers/queue.js';
import { TestSmtp } from '../helpers/smtp.js';
import { CliProcess } from '../helpers/worker-process.js';

/**
 * Provider rate limits with real `rqctl worker` processes, a local CoinGecko stand-in serving the
 * recorded response that notes when each request arrives, and a real SMTP server
 * (docs/rate-limits.md). The limit is checked where the provider checks it: on arrival.
 */
const redisUrl = inject('plainRedisUrl');

let smtp: TestSmtp;
beforeAll(async () => {
  smtp = await TestSmtp.start();
});
afterAll(async () => {
  await smtp?.close();
});

const started: CliProcess[] = [];
const prefixes: string[] = [];
const servers: ArrivalServer[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => p.stop()));
  for (const p of prefixes.splice(0)) await removePrefix(redisUrl, p);
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function setup(tag: string, rateLimit: string) {
  const prefix = uniquePrefix(tag);
  prefixes.push(prefix);
  const server = await ArrivalServer.start();
  servers.push(server);
  const env = {
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    CACHE_PREFIX: `${prefix}:`,
    COINGECKO_BASE_URL: server.coingeckoUrl,
    COINGECKO_RATE_LIMIT: rateLimit,
    MAIL_HOST: '127.0.0.1',
    MAIL_PORT: String(smtp.port),
    MAIL_ENCRYPTION: 'none',
    MAIL_FROM_ADDRESS: 'noreply@example.test',
    ADMIN_EMAIL: 'admin@example.test',
  };
  const workers = (n: number, concurrency: number) =>
    Array.from({ length: n }, (_, i) => {
      const p = new CliProcess(['worker', '--sleep', '1', '--concurrency', String(concurrency), '--name', `${tag}-${i}`], env);
      started.push(p);
      return p;
    });
  return { prefix, env, server, workers };
}

/** Adds jobs the way any producer does (3 tries, 60 s backoff, like rqctl's dispatch); returns their ids. */
async function add(prefix: string, queue: string, jobs: { name: string; data: unknown }[]): Promise<string[]> {
  const q = testQueue(redisUrl, prefix, queue);
  try {
    const added = await q.addBulk(jobs.map((j) => ({ ...j, opts: { attempts: 3, backoff: { type: 'fixed', delay: 60_000 } } })));
    return added.map((j) => j.id!);
  } finally {
    await q.close();
  }
}

const fetches = (n: number) => Array.from({ length: n }, (_, i) => ({ name: 'FetchCryptoData', data: { method: 'getCryptoList', params: { page: i + 1 } } }));

/** Waits until `n` jobs of the queue have finished, polling two counters once a second. */
async function finished(prefix: string, queue: string, n: number, timeoutMs: number): Promise<void> {
  const q = testQueue(redisUrl, prefix, queue);
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const counts = await q.getJobCounts('completed', 'failed');
      if (counts.completed + counts.failed >= n) return;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} jobs of ${queue} to finish: ${JSON.stringify(counts)}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  } finally {
    await q.close();
  }
}

interface JobSnapshot {
  id: string;
  state: string;
  attemptsMade: number;
  attemptsStarted: number;
  failedReason?: string;
  processedOn?: number;
  finishedOn?: number;
  processedBy?: string;
}

async function jobsOf(prefix: string, queue: string, ids: string[]): Promise<JobSnapshot[]> {
  const q = testQueue(redisUrl, prefix, queue);
  try {
    const jobs = (await Promise.all(ids.map((id) => q.getJob(id)))) as Job[];
    return await Promise.all(
      jobs.map(async (j) => ({
        id: j.id!,
        state: await j.getState(),
        attemptsMade: j.attemptsMade,
        attemptsStarted: j.attemptsStarted,
        failedReason: j.failedReason,
        processedOn: j.processedOn,
        finishedOn: j.finishedOn,
        processedBy: j.processedBy,
      })),
    );
  } finally {
    await q.close();
  }
}

/** The most requests that arrived in any window of `windowMs` (half-open, sliding over every arrival). */
function busiestWindow(times: number[], windowMs: number): number {
  const t = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < t.length; i++) {
    while (t[i] - t[j] >= windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

describe('a provider budget shared by three worker processes', () => {
  it('300 fetch jobs at 20/2s: no 2-second window over 20, all complete, throttling uses no attempt, e-mails go out meanwhile', async () => {
    const t = await setup('lim300', '20/2s');
    // Queued before the workers start, so the test's own work stays out of the run.
    const ids = await add(t.prefix, 'default', fetches(300));
    const ws = t.workers(3, 10);

    // In the middle of it: 20 inquiry e-mails, on the `emails` queue the same workers consume.
    await eventually(async () => (await t.server.arrivals()).length >= 100, 120_000, '100 requests');
    // Meanwhile throttled jobs wait in `delayed` with no attempt used.
    const q = testQueue(redisUrl, t.prefix, 'default');
    const delayed = await q.getJobs(['delayed'], 0, 49).finally(() => q.close());
    expect(delayed.length).toBeGreaterThan(0);
    expect(delayed.map((j) => j.attemptsMade)).toEqual(delayed.map(() => 0));
    const mailsBefore = smtp.messages.length;
    const mailIds = await add(
      t.prefix,
      'emails',
      Array.from({ length: 20 }, (_, i) => ({
        name: 'SendEmail',
        data: { template: 'new-inquiry', data: { name: `Buyer ${i}`, email: `b${i}@example.test`, message: 'Is the flat still available?' } },
      })),
    );
    const mailsDispatchedAt = Date.now();
    await eventually(async () => smtp.messages.length - mailsBefore >= 20, 60_000, '20 e-mails');
    const mailsSentAt = Date.now();

    await finished(t.prefix, 'default', 300, 240_000);
    const done = await jobsOf(t.prefix, 'default', ids);
    const times = (await t.server.arrivals()).map((r) => r.at).sort((a, b) => a - b);
    const first = times[0];
    const last = times[times.length - 1];

    // The budget held where the provider counts, in every sliding 2-second window, and was used in full.
    const busiest = busiestWindow(times, 2000);
    const closest = Math.min(...times.slice(20).map((at, i) => at - times[i]));
    console.log(
      `[limits] 300 fetch jobs, limit 20/2s, 3 workers x concurrency 10: ${times.length} requests in ${((last - first) / 1000).toFixed(1)} s; ` +
        `max requests in any 2 s window: ${busiest}; closest 21 requests spanned ${closest} ms; ` +
        `20 e-mails dispatched ${((mailsDispatchedAt - first) / 1000).toFixed(1)} s in, all sent ${mailsSentAt - mailsDispatchedAt} ms later, ` +
        `${((last - mailsSentAt) / 1000).toFixed(1)} s before the last fetch`,
    );
    expect(times.length).toBe(300);
    expect(busiest).toBe(20);

    // Every job completed on its first attempt: attemptsMade 1 is the successful run; the throttled
    // runs before it (attemptsStarted above 1) used none.
    expect(done.filter((j) => j.state !== 'completed')).toEqual([]);
    expect(done.filter((j) => j.attemptsMade !== 1)).toEqual([]);
    const throttledJobs = done.filter((j) => j.attemptsStarted > 1).length;
    expect(throttledJobs).toBeGreaterThan(200);

    // The e-mails were not stuck behind the throttled fetches.
    expect(mailsSentAt).toBeLessThan(last);
    const mails = await jobsOf(t.prefix, 'emails', mailIds);
    expect(mails.filter((m) => m.state !== 'completed' || m.finishedOn! >= last)).toEqual([]);

    const throttled = ws.flatMap((w) => w.eventsNamed('throttled'));
    expect(throttled[0]).toMatchObject({ provider: 'coingecko', by: '20/2s' });
    const status = await runCli(['limits', '--json'], { env: t.env });
    expect(status.exitCode).toBe(0);
    const cg = status.json.providers.find((p: any) => p.name === 'coingecko');
    expect(cg).toMatchObject({ limits: [{ max: 20, windowMs: 2000 }], pausedUntil: null, throttled1h: throttled.length, http429_1h: 0 });
    console.log(`[limits] ${throttledJobs} of 300 jobs were throttled, ${throttled.length} throttled runs in all; rqctl limits: ${JSON.stringify(cg)}`);
  }, 300_000);
});

describe('leases: a budget far above the load', () => {
  it('300 fetch jobs at 100000/min: every job completes with one request, most permits come from leases (fewer script calls than requests)', async () => {
    const t = await setup('lease', '100000/min');
    await add(t.prefix, 'default', fetches(300));
    t.workers(3, 10);
    await finished(t.prefix, 'default', 300, 120_000);
    const arrivals = await t.server.arrivals();
    expect(arrivals).toHaveLength(300);
    // The provider's log: a lease's permits share one call's member stem (`<time>#<k>`), a single
    // permit stands alone. Unused permits of a lease stay counted, so there are at least 300 entries.
    const c = new Redis(redisUrl);
    try {
      const members = await c.zrange(`${t.prefix}:rqctl:limits:coingecko:log`, '0', '-1');
      const calls = new Set(members.map((m) => m.split('#')[0])).size;
      const inLeases = members.filter((m) => m.includes('#')).length;
      console.log(
        `[limits] 300 fetch jobs at 100000/min, 3 workers x concurrency 10: ${members.length} permits logged, ${inLeases} of them in leases, from ${calls} script calls`,
      );
      expect(members.length).toBeGreaterThanOrEqual(300);
      expect(inLeases).toBeGreaterThan(0);
      expect(calls).toBeLessThan(300);
    } finally {
      c.disconnect();
    }
  }, 180_000);
});

describe('an HTTP 429 pauses the provider for every worker', () => {
  it('Retry-After: 3 on one request: no request to that provider from any worker for 3 s, then all complete', async () => {
    // One request a second, so none is already on its way when the 429 comes back, even on a busy host.
    const t = await setup('lim429', '1/s');
    const ids = await add(t.prefix, 'default', fetches(12));
    const ws = t.workers(3, 10);
    await eventually(async () => (await t.server.arrivals()).length >= 3, 60_000, '3 requests');
    t.server.queue429(3);

    await finished(t.prefix, 'default', 12, 120_000);
    const done = await jobsOf(t.prefix, 'default', ids);
    const arrivals = await t.server.arrivals();
    const limited = arrivals.filter((r) => r.status === 429);
    expect(limited).toHaveLength(1);
    const at429 = limited[0].at;
    const after = arrivals.filter((r) => r.at > at429);
    // Nothing reached the provider during the pause; requests resumed once it was over.
    expect(after.filter((r) => r.at < at429 + 3000)).toEqual([]);
    expect(after.length).toBeGreaterThan(0);
    console.log(`[limits] 429 with Retry-After: 3 -> the next request arrived ${after[0].at - at429} ms later; ${arrivals.length} requests for 12 jobs`);

    // Every job completed; the one that got the 429 used no attempt for it.
    expect(done.filter((j) => j.state !== 'completed')).toEqual([]);
    expect(done.filter((j) => j.attemptsMade !== 1)).toEqual([]);
    const rateLimited = ws.flatMap((w) => w.eventsNamed('rate-limited'));
    expect(rateLimited).toHaveLength(1);
    expect(rateLimited[0]).toMatchObject({ provider: 'coingecko', retryAfterMs: 3000, delayed: true, http429: 1 });
    // Jobs of more than one worker waited for the pause and ran after it.
    const afterBy = new Set(done.filter((j) => j.processedOn! > at429 + 3000).map((j) => j.processedBy));
    expect(afterBy.size).toBeGreaterThan(1);

    const status = await runCli(['limits', '--json'], { env: t.env });
    expect(status.json.providers.find((p: any) => p.name === 'coingecko')).toMatchObject({ http429_1h: 1 });
  }, 180_000);
});

describe('rqctl limits', () => {
  it('shows each limit with its use; a bad limit is exit 2 naming the setting; --script prints the shipped script', async () => {
    const prefix = uniquePrefix('limcli');
    prefixes.push(prefix);
    const env = { REDIS_URL: redisUrl, QUEUE_PREFIX: prefix, FINNHUB_RATE_LIMIT: '60/min,30/s' };
    const config = resolveConfig({ env, cwd: tempCwd() });
    const client = await connectRole(config, 'queue');
    try {
      const limits = new ProviderLimits(config, client);
      for (let i = 0; i < 3; i++) expect(await limits.take('finnhub')).toEqual({ granted: true });
      await limits.pause('coingecko', 30_000);

      const human = await runCli(['limits'], { env });
      expect(human.exitCode).toBe(0);
      const rows = human.stdout.trim().split('\n');
      expect(rows[0]).toMatch(/^provider\s+limits\s+in use\s+paused until\s+throttled \(1h\)\s+429s \(1h\)$/);
      expect(rows.find((r) => r.startsWith('finnhub'))).toMatch(/^finnhub\s+60\/min, 30\/s\s+3\/60, [0-3]\/30\s+-\s+0\s+0$/);
      expect(rows.find((r) => r.startsWith('coingecko'))).toMatch(/^coingecko\s+30\/min\s+0\/30\s+\d{4}-\d\d-\d\dT[\d:.]+Z\s+0\s+1$/);

      const json = await runCli(['limits', '--json'], { env });
      expect(json.json.providers).toEqual([
        { name: 'coingecko', limits: [{ max: 30, windowMs: 60_000, used: 0 }], pausedUntil: expect.any(String), throttled1h: 0, http429_1h: 1 },
        {
          name: 'finnhub',
          limits: [
            { max: 60, windowMs: 60_000, used: 3 },
            // The 1-second window may have moved on since the permits.
            { max: 30, windowMs: 1000, used: expect.any(Number) },
          ],
          pausedUntil: null,
          throttled1h: 0,
          http429_1h: 0,
        },
      ]);
      expect(Date.parse(json.json.providers[0].pausedUntil) - Date.now()).toBeGreaterThan(20_000);

      const bad = await runCli(['limits'], { env: { ...env, COINGECKO_RATE_LIMIT: '30/minute' } });
      expect(bad.exitCode).toBe(2);
      expect(bad.stderr).toContain('limits.coingecko (COINGECKO_RATE_LIMIT): "30/minute" is not a rate limit: write N/WINDOW');
      expect(bad.stdout).toBe('');

      // The script other applications load: the shipped file, under the SHA1 Redis knows it by.
      const script = await runCli(['limits', '--script', '--json'], { env: {} });
      expect(script.exitCode).toBe(0);
      expect(script.json.script).toBe(readFileSync(join(ROOT, 'src', 'limits', 'provider-limit.lua'), 'utf8'));
      expect(script.json.file).toBe(join(ROOT, 'dist', 'limits', 'provider-limit.lua'));
      expect(await client.script('LOAD', script.json.script)).toBe(script.json.sha1);
      const plain = await runCli(['limits', '--script'], { env: {} });
      expect(plain.stdout).toBe(script.json.script);
    } finally {
      await closeClient(client);
    }
  });
});
