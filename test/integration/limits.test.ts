import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { RateLimit } from '../../src/config/rate-limits.js';
import { limitKeys, ProviderLimits, type PermitAnswer } from '../../src/limits/provider-limits.js';
import '../../src/jobs/index.js';
import { dispatch, prepareDispatch, type WaitResult } from '../../src/jobs/dispatch.js';
import { ROOT } from '../helpers/cli.js';
import { jobEnv } from '../helpers/job-env.js';
import { startJobWorker } from '../helpers/job-worker.js';
import { ProviderServer } from '../helpers/provider-server.js';
import { startCluster, type TestCluster } from '../helpers/redis-cluster.js';
import { removePrefix, uniquePrefix } from '../helpers/queue.js';

/**
 * The provider-limit script against a real redis-server: exact sliding windows, turns for refused
 * callers, the pause after a 429, the figures `rqctl limits` shows, and the budget shared with
 * another application (Python, through the shipped script and the documented keys).
 */
const redisUrl = inject('plainRedisUrl');
const SCRIPT = join(ROOT, 'src', 'limits', 'provider-limit.lua');

const clients: Redis[] = [];
function client(): Redis {
  const u = new URL(redisUrl);
  const c = new Redis({ host: u.hostname, port: Number(u.port), maxRetriesPerRequest: 1 });
  c.on('error', () => {});
  clients.push(c);
  return c;
}
const prefixes: string[] = [];
function budget(limits: Record<string, RateLimit[]>, c = client()): { limits: ProviderLimits; prefix: string; c: Redis } {
  const prefix = uniquePrefix('lim');
  prefixes.push(prefix);
  return { limits: new ProviderLimits({ queue: { prefix } as never, limits }, c), prefix, c };
}
afterAll(async () => {
  for (const p of prefixes) await removePrefix(redisUrl, p);
  for (const c of clients) c.disconnect();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sorted start times from the provider's log (ms, Redis time). */
async function starts(c: Redis, prefix: string, provider: string): Promise<number[]> {
  const flat = await c.zrange(limitKeys(prefix, provider)[0], '0', '-1', 'WITHSCORES');
  return flat.filter((_, i) => i % 2 === 1).map(Number);
}

/** The most starts in any window of `windowMs` (half-open, sliding over every start). */
function busiestWindow(times: number[], windowMs: number): number {
  let best = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i] - times[j] >= windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

/** Takes permits in a loop for `ms` as caller `id`, sleeping the answered wait after each refusal. */
async function hammer(limits: ProviderLimits, provider: string, ms: number, id?: string): Promise<{ granted: number; refused: number }> {
  let granted = 0;
  let refused = 0;
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const a = await limits.take(provider, id);
    if (a.granted) granted++;
    else {
      refused++;
      await sleep(a.waitMs);
    }
  }
  return { granted, refused };
}

/** A python3 that can `import redis` (Debian's python3-redis lives in /usr/bin's python). */
function pythonWithRedis(): string | undefined {
  for (const py of ['python3', '/usr/bin/python3']) {
    const r = spawnSync(py, ['-c', 'import redis'], { stdio: 'ignore' });
    if (r.status === 0) return py;
  }
  return undefined;
}

describe('the provider-limit script', () => {
  it('grants N in a window, then refuses with the time until the oldest start leaves it; the log expires on its own', async () => {
    const { limits, prefix, c } = budget({ api: [{ max: 5, windowMs: 1000 }] });
    const answers: PermitAnswer[] = [];
    for (let i = 0; i < 6; i++) answers.push(await limits.take('api'));
    expect(answers.slice(0, 5).every((a) => a.granted)).toBe(true);
    const refused = answers[5];
    expect(refused).toMatchObject({ granted: false, by: '5/s' });
    const log = await starts(c, prefix, 'api');
    expect(log).toHaveLength(5);
    const [seconds, micros] = (await c.time()) as unknown as [string, string];
    const now = Number(seconds) * 1000 + Number(micros) / 1000;
    // The wait ends when the oldest start is a whole window old, plus the arrival margin (a tenth
    // of the window, at most 250 ms).
    expect((refused as { waitMs: number }).waitMs).toBeGreaterThanOrEqual(Math.floor(log[0] + 1100 - now));
    expect((refused as { waitMs: number }).waitMs).toBeLessThanOrEqual(1100);
    const [logKey, , , statsKey] = limitKeys(prefix, 'api');
    expect(await c.pttl(logKey)).toBeGreaterThan(0);
    expect(await c.pttl(logKey)).toBeLessThanOrEqual(1100);
    expect(await c.pttl(statsKey)).toBeGreaterThan(3_600_000);

    await sleep((refused as { waitMs: number }).waitMs);
    expect(await limits.take('api')).toEqual({ granted: true });
  });

  it('several limits all hold: exact in every sliding window with eight clients at once', async () => {
    const provider = 'busy';
    // 1000/h keeps every start in the log for the check (the log is trimmed to the longest window).
    const set: RateLimit[] = [
      { max: 4, windowMs: 300 },
      { max: 10, windowMs: 1000 },
      { max: 100_000, windowMs: 3_600_000 },
    ];
    const { prefix, c } = budget({ [provider]: set });
    const takers = Array.from({ length: 8 }, () => new ProviderLimits({ queue: { prefix } as never, limits: { [provider]: set } }, client()));
    // Half of them name themselves (they keep their place in line), half do not.
    const results = await Promise.all(takers.map((t, i) => hammer(t, provider, 2500, i % 2 ? `client-${i}` : undefined)));
    const times = await starts(c, prefix, provider);
    expect(times.length).toBe(results.reduce((n, r) => n + r.granted, 0));
    expect(times.length).toBeGreaterThanOrEqual(20);
    // Never over either limit; and the budget was used, not left idle.
    expect(busiestWindow(times, 300)).toBeLessThanOrEqual(4);
    expect(busiestWindow(times, 1000)).toBeLessThanOrEqual(10);
    expect(busiestWindow(times, 1000)).toBeGreaterThanOrEqual(8);
    const status = (await takers[0].status())[0];
    expect(status.throttled1h).toBe(results.reduce((n, r) => n + r.refused, 0));
  });

  it('refused callers get turns one after another, not all the same moment', async () => {
    const { limits } = budget({ api: [{ max: 2, windowMs: 1000 }] });
    expect((await limits.take('api')).granted).toBe(true);
    expect((await limits.take('api')).granted).toBe(true);
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) {
      const a = await limits.take('api', `caller-${i}`);
      expect(a.granted).toBe(false);
      waits.push((a as { waitMs: number }).waitMs);
    }
    // Two per window (1.1 s with the margin): the first turn when the first permit leaves the window,
    // then one every 550 ms, the rate the budget allows.
    expect(waits[0]).toBeLessThanOrEqual(1100);
    for (let i = 1; i < waits.length; i++) {
      expect(waits[i] - waits[i - 1]).toBeGreaterThan(450);
      expect(waits[i] - waits[i - 1]).toBeLessThanOrEqual(560);
    }
  });

  it('a caller keeps its place in line: early, it is told its turn; once its turn has come, a newcomer cannot take its slot', async () => {
    const { limits, prefix, c } = budget({ api: [{ max: 1, windowMs: 500 }] });
    expect(await limits.take('api', 'first')).toEqual({ granted: true });
    const queued = await limits.take('api', 'second');
    expect(queued).toMatchObject({ granted: false });
    const turn = Number(await c.zscore(limitKeys(prefix, 'api')[1], 'second'));
    expect(turn).toBeGreaterThan(0);
    // Back too early: the same turn, not the back of the line.
    const early = await limits.take('api', 'second');
    expect(early.granted).toBe(false);
    expect(Number(await c.zscore(limitKeys(prefix, 'api')[1], 'second'))).toBe(turn);
    await sleep((queued as { waitMs: number }).waitMs);
    // Its turn has come: a newcomer (named or not) is refused, and it is granted.
    expect((await limits.take('api', 'newcomer')).granted).toBe(false);
    expect((await limits.take('api')).granted).toBe(false);
    expect(await limits.take('api', 'second')).toEqual({ granted: true });
    expect(await c.zscore(limitKeys(prefix, 'api')[1], 'second')).toBeNull();
  });

  it('a pause after a 429 refuses every caller until it ends, with PX; a shorter one does not cut it short', async () => {
    const { limits, prefix, c } = budget({ api: [{ max: 100, windowMs: 1000 }] });
    const jobKey = `${prefix}:q:1`;
    await c.hset(jobKey, 'name', 'FetchCryptoData');
    const first = await limits.pause('api', 3000, jobKey);
    expect(first.waitMs).toBeGreaterThan(2900);
    expect(first.jobHttp429).toBe(1);
    const [, , pausedKey] = limitKeys(prefix, 'api');
    const pttl = await c.pttl(pausedKey);
    expect(pttl).toBeGreaterThan(2500);
    expect(pttl).toBeLessThanOrEqual(3000);
    const refused = await limits.take('api');
    expect(refused).toMatchObject({ granted: false, by: 'paused after HTTP 429' });
    expect((refused as { waitMs: number }).waitMs).toBeGreaterThan(2500);
    // A shorter pause leaves the longer one in force.
    const second = await limits.pause('api', 10, jobKey);
    expect(second.pausedUntil).toBe(first.pausedUntil);
    expect(await c.pttl(pausedKey)).toBeGreaterThan(2000);
    expect(await c.hget(jobKey, 'rqctl429')).toBe('2');
    // 0 only counts the 429; a job hash that is gone is not recreated.
    await limits.pause('api', 0, `${prefix}:q:gone`);
    expect(await c.exists(`${prefix}:q:gone`)).toBe(0);

    const [status] = await limits.status();
    expect(status).toMatchObject({ name: 'api', limits: [{ max: 100, windowMs: 1000, used: 0 }], throttled1h: 1, http429_1h: 3 });
    expect(Date.parse(status.pausedUntil!) - Date.now()).toBeGreaterThan(1500);
  });

  it('status shows the use of each limit in its current window', async () => {
    const { limits } = budget({
      api: [
        { max: 3, windowMs: 60_000 },
        { max: 10, windowMs: 1000 },
      ],
    });
    await limits.take('api');
    await limits.take('api');
    const [s] = await limits.status();
    expect(s).toEqual({
      name: 'api',
      limits: [
        { max: 3, windowMs: 60_000, used: 2 },
        { max: 10, windowMs: 1000, used: 2 },
      ],
      pausedUntil: null,
      throttled1h: 0,
      http429_1h: 0,
    });
  });

  it('a lease: one call grants several permits while nobody waits, logged at the lease end, an eighth of what is left at most', async () => {
    const { prefix, c } = budget({});
    const keys = limitKeys(prefix, 'lease');
    const script = readFileSync(SCRIPT, 'utf8');
    const take = (want: number, leaseMs: number, caller = '') => c.eval(script, 4, ...keys, 'take', 1, 80, 1000, caller, want, leaseMs) as Promise<number[]>;
    const [s0, us0] = (await c.time()) as unknown as [string, string];
    const before = Number(s0) * 1000 + Number(us0) / 1000;
    // 80/s: an eighth of 80 is 10, of the 70 left 8; the lease lasts at most the margin (100 ms here).
    expect(await take(16, 25)).toEqual([1, 10, 25]);
    expect(await take(16, 500)).toEqual([1, 8, 100]);
    const scores = await starts(c, prefix, 'lease');
    expect(scores).toHaveLength(18);
    // Logged as starting at the lease's end: the latest moment its permits may be used.
    expect(Math.min(...scores.slice(0, 10))).toBeGreaterThanOrEqual(before + 25);
    // Without want (PHP, Python, `take`): one permit, the documented answer.
    expect(await take(1, 0)).toEqual([1]);
    // Someone in line: no lease, one permit (nobody jumps the line).
    const { limits: strict, prefix: p2, c: c2 } = budget({ api: [{ max: 1, windowMs: 60_000 }] });
    expect(await strict.take('api', 'a')).toEqual({ granted: true });
    expect((await strict.take('api', 'b')).granted).toBe(false);
    const k2 = limitKeys(p2, 'api');
    await c2.zrem(k2[0], ...(await c2.zrange(k2[0], '0', '-1')));
    expect(await c2.eval(script, 4, ...k2, 'take', 1, 100, 60_000, 'c', 16, 25)).toEqual([1]);
  });

  it('leases under load: eight clients holding leases, every sliding window exact where the permits are used', async () => {
    const provider = 'leased';
    const set: RateLimit[] = [{ max: 400, windowMs: 1000 }];
    const { c } = budget({});
    const prefix = uniquePrefix('lease');
    prefixes.push(prefix);
    const keys = limitKeys(prefix, provider);
    const script = readFileSync(SCRIPT, 'utf8');
    const uses: number[] = [];
    let calls = 0;
    let leased = 0;
    const at = () => performance.timeOrigin + performance.now();
    // Each client uses a permit only before its lease ends, as ProviderLimits does; the time of use is
    // what the provider would see (the test's clock: the same host's as Redis').
    async function client(id: number): Promise<void> {
      const redis = c.duplicate();
      clients.push(redis);
      let left = 0;
      let until = 0;
      const end = Date.now() + 2500;
      while (Date.now() < end) {
        if (left > 0 && performance.now() < until) {
          left--;
          uses.push(at());
          await sleep(Math.random() < 0.5 ? 0 : 1);
          continue;
        }
        const sent = performance.now();
        const r = (await redis.eval(script, 4, ...keys, 'take', 1, set[0].max, set[0].windowMs, `c${id}`, 32, 25)) as number[];
        calls++;
        if (r[0] === 1) {
          uses.push(at());
          left = (r[1] ?? 1) - 1;
          until = sent + (r[2] ?? 0);
          if (r[1]) leased++;
        } else await sleep(r[1]);
      }
    }
    await Promise.all(Array.from({ length: 8 }, (_, i) => client(i)));
    uses.sort((a, b) => a - b);
    const busiest = busiestWindow(uses, 1000);
    console.log(
      `[limits] 400/s, 8 clients with leases for 2.5 s: ${uses.length} permits used from ${calls} calls (${leased} leases); most in any 1 s window: ${busiest}`,
    );
    expect(leased).toBeGreaterThan(0);
    expect(calls).toBeLessThan(uses.length);
    expect(busiest).toBeLessThanOrEqual(400);
    expect(busiest).toBeGreaterThanOrEqual(300);
  });

  it('a provider without limits is never throttled and touches no key', async () => {
    const { limits, prefix, c } = budget({});
    for (let i = 0; i < 3; i++) expect(await limits.take('other')).toEqual({ granted: true });
    expect(await c.exists(...limitKeys(prefix, 'other'))).toBe(0);
  });
});

describe('one budget shared with another application', () => {
  const python = pythonWithRedis();
  it.skipIf(!python)('Python (redis module, the shipped script) and rqctl take permits at once: the limit holds for both together', async () => {
    const provider = 'coingecko';
    const set: RateLimit[] = [
      { max: 6, windowMs: 500 },
      { max: 100_000, windowMs: 3_600_000 },
    ];
    const { prefix, c } = budget({ [provider]: set });
    const pairs = set.flatMap((l) => [String(l.max), String(l.windowMs)]);
    const py = spawn(python!, [join(ROOT, 'test', 'fixtures', 'limits', 'take_permits.py'), redisUrl, SCRIPT, prefix, provider, '3', 'php-site', ...pairs], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    py.stdout.on('data', (d) => (out += d));
    py.stderr.on('data', (d) => (err += d));
    const pyDone = new Promise<number | null>((r) => py.once('exit', r));
    const takers = Array.from({ length: 3 }, () => new ProviderLimits({ queue: { prefix } as never, limits: { [provider]: set } }, client()));
    const node = await Promise.all(takers.map((t, i) => hammer(t, provider, 3000, `worker-${i}`)));
    expect(await pyDone, err).toBe(0);
    const fromPython = JSON.parse(out) as { granted: number; refused: number };
    const fromRqctl = node.reduce((n, r) => n + r.granted, 0);
    // Both took their requests from the budget (one line for all: Python, which starts last, is not crowded out).
    expect(fromPython.granted).toBeGreaterThan(0);
    expect(fromRqctl).toBeGreaterThan(0);
    const times = await starts(c, prefix, provider);
    expect(times.length).toBe(fromPython.granted + fromRqctl);
    const busiest = busiestWindow(times, 500);
    console.log(`[limits] 6/500ms shared for 3 s: Python ${fromPython.granted} permits, 3 rqctl callers ${fromRqctl}; most in any 500 ms window: ${busiest}`);
    expect(busiest).toBeLessThanOrEqual(6);
    expect(busiest).toBeGreaterThanOrEqual(5);
  });
  if (!python) console.warn('skipped the Python test: no python3 can `import redis` (apt-get install python3-redis; scripts/setup.sh does)');
});

describe('on a Redis Cluster', () => {
  let cluster: TestCluster;
  let c: Cluster;
  beforeAll(async () => {
    cluster = await startCluster();
    c = cluster.client();
  }, 120_000);
  afterAll(async () => {
    c?.disconnect();
    await cluster?.stop();
  });

  it('take, pause (with the job hash) and status run in one slot: the queue prefix hash tag', async () => {
    const prefix = '{bull}';
    const limits = new ProviderLimits({ queue: { prefix } as never, limits: { finnhub: [{ max: 2, windowMs: 1000 }] } }, c);
    expect(await limits.take('finnhub')).toEqual({ granted: true });
    expect(await limits.take('finnhub')).toEqual({ granted: true });
    expect(await limits.take('finnhub')).toMatchObject({ granted: false, by: '2/s' });
    await c.hset(`${prefix}:default:7`, 'name', 'FetchStockData');
    expect(await limits.pause('finnhub', 2000, `${prefix}:default:7`)).toMatchObject({ jobHttp429: 1 });
    expect(await c.hget(`${prefix}:default:7`, 'rqctl429')).toBe('1');
    expect(await limits.take('finnhub')).toMatchObject({ granted: false, by: 'paused after HTTP 429' });
    const [s] = await limits.status();
    expect(s).toMatchObject({ name: 'finnhub', limits: [{ used: 2 }], throttled1h: 2, http429_1h: 1 });
    expect(s.pausedUntil).not.toBeNull();
  });
});

describe("a refresh's children over the budget", () => {
  it('spread out, use no attempt, and all complete; the refresh reports them all succeeded', async () => {
    const server = await ProviderServer.start();
    const env = await jobEnv(redisUrl, {
      label: 'limref',
      env: { COINGECKO_BASE_URL: server.coingeckoUrl, COINGECKO_RATE_LIMIT: '2/1s' },
      file: { refresh: { crypto: { listPages: 3, ids: ['bitcoin'], chartDays: 7 } } },
    });
    const worker = await startJobWorker(env.config, ['default'], { concurrency: 6 });
    try {
      const r = (await dispatch(env.config, prepareDispatch(env.config, { job: 'RefreshCryptoCache' }), { waitMs: 60_000 })) as WaitResult;
      expect(r.state, r.failedReason).toBe('completed');
      expect(r.returnvalue).toMatchObject({ skipped: false, children: 6, succeeded: 6, failed: 0 });
      const times = server.requests.map((q) => q.at).sort((a, b) => a - b);
      expect(times).toHaveLength(6);
      expect(busiestWindow(times, 1000)).toBeLessThanOrEqual(2);
      const conn = env.queueDb.duplicate();
      const q = new Queue('default', { connection: conn, prefix: env.config.queue.prefix });
      try {
        const children = (await q.getJobs(['completed'])).filter((j) => j.name === 'FetchCryptoData');
        expect(children).toHaveLength(6);
        expect(children.map((j) => j.attemptsMade)).toEqual(children.map(() => 1));
        expect(children.filter((j) => j.attemptsStarted > 1).length).toBeGreaterThanOrEqual(4);
      } finally {
        await q.close();
        conn.disconnect();
      }
      expect(worker.logs.filter((l) => l.event === 'throttled').length).toBeGreaterThanOrEqual(4);
    } finally {
      await worker.close();
      await env.cleanup();
      await server.close();
    }
  });
});
