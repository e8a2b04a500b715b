// Dashboard overview (BENCHMARKS.md): GET /api/overview of `rqctl dashboard` with 10 queues of
// 100,000 jobs each, median latency (target ≤ 50 ms), and proof that no job list is read: one request
// is watched with MONITOR and every range read of a job-state key (wait, active, delayed, completed,
// failed, prioritized, paused, waiting-children) must ask for at most 2 ids (the head of a list, to age
// the oldest ready job). For reference, the raw side builds the same figures the way an application
// would with BullMQ itself: per queue getJobCounts, isPaused and getMetrics for the last hour.
import { Queue } from 'bullmq';
import { BenchRedis } from '../lib/redis.mjs';
import { startBackground, waitUntil } from '../lib/proc.mjs';
import { connectionOf, fillQueue } from '../lib/queue.mjs';
import { median } from '../lib/stats.mjs';
import { cleanEnv, hasCommand, missing } from '../lib/env.mjs';

const QUEUES = 10;
const REQUESTS = 40;
const JOB_STATES = /:(wait|paused|active|prioritized|delayed|completed|failed|waiting-children)$/;

const names = () => Array.from({ length: QUEUES }, (_, i) => `q${i}`);

/** Entries a range read asks for (Infinity for a whole-set read). */
function span(args) {
  const [cmd, , a, b] = args;
  if (/^(smembers|sscan|zscan|hscan|sort|hgetall)$/i.test(cmd)) return Infinity;
  if (/byscore|bylex/i.test(cmd) || args.some((x) => /^(byscore|bylex)$/i.test(x))) return Infinity;
  const start = Number(a);
  const stop = Number(b);
  return start < 0 === stop < 0 ? stop - start + 1 : Infinity;
}

async function jobListReads(state) {
  const monitor = await state.redis.client().monitor();
  const seen = [];
  monitor.on('monitor', (_t, args) => seen.push(args));
  try {
    const r = await fetch(`${state.url}api/overview`);
    if (!r.ok) throw new Error(`/api/overview answered ${r.status}`);
    await r.json();
    await new Promise((res) => setTimeout(res, 300));
  } finally {
    monitor.disconnect();
  }
  const reads = seen.filter((a) => /^(lrange|zrange|zrevrange|zrangebyscore|zrevrangebyscore|smembers|sscan|zscan|hscan|sort)$/i.test(a[0]));
  return { commands: seen.length, jobListReads: reads.filter((a) => JOB_STATES.test(a[1] ?? '') && span(a) > 2).length };
}

export default {
  id: 'dashboard-overview',
  title: 'dashboard overview',
  measure: `GET /api/overview of \`rqctl dashboard\` with ${QUEUES} queues of N jobs: median of ${REQUESTS} sequential requests per round (raw: BullMQ counts + metrics per queue, for reference)`,
  kind: 'time',
  // An absolute target, not a ratio: the median of every request against 50 ms.
  target: undefined,
  maxMedianMs: 50,
  extraTarget: 'median ≤ 50 ms, no job list read',
  checkExtra: (e) => e !== undefined && e.jobListReads === 0,
  rounds: { full: 5, quick: 2 },
  n: (ctx) => (ctx.quick ? 10_000 : 100_000),
  unavailable: (ctx) => (!hasCommand(ctx, ['dashboard']) ? missing('rqctl dashboard') : undefined),
  async setup(ctx) {
    const n = ctx.quick ? 10_000 : 100_000;
    const redis = await BenchRedis.start();
    const c = redis.client();
    const now = Date.now();
    for (const q of names()) {
      ctx.log(`dashboard-overview: filling ${q} with ${n} jobs`);
      await fillQueue(redis.url(), q, n, 'FetchStockData', { attempts: 1 }, (i) => ({ method: 'getStockQuote', params: { symbol: `S${i}` } }));
      // A day of BullMQ metrics, as `rqctl worker` leaves them, so the charts have data to read.
      for (const type of ['completed', 'failed']) {
        const key = `bull:${q}:metrics:${type}`;
        await c.hset(key, 'count', 1000, 'prevTS', now, 'prevCount', 990);
        await c.lpush(`${key}:data`, ...Array.from({ length: 1440 }, (_, i) => String(i % 7)));
      }
    }
    c.disconnect();
    const dash = startBackground(process.execPath, [ctx.bin, '--json', 'dashboard', '--port', '0'], { env: cleanEnv({ REDIS_URL: redis.url() }) });
    const url = await waitUntil('the dashboard to listen', () => /"url":"([^"]+)"/.exec(dash.tail)?.[1], { timeoutMs: 60_000 });
    const state = { redis, dash, url, n, queues: names().map((q) => new Queue(q, { connection: connectionOf(redis.url()), prefix: 'bull' })) };
    // The first request discovers the queues (a SCAN of the keyspace), counts the cache and runs
    // doctor: what a page load does once, in the background afterwards.
    const first = await (await fetch(`${url}api/overview`)).json();
    if (first.queues.filter((q) => q.waiting === n).length !== QUEUES)
      throw new Error(`the overview shows ${JSON.stringify(first.queues.map((q) => [q.name, q.waiting]))}`);
    state.monitor = await jobListReads(state);
    ctx.log(`dashboard-overview: one request under MONITOR: ${state.monitor.commands} commands, ${state.monitor.jobListReads} job-list reads`);
    return state;
  },
  async teardown(state) {
    if (!state) return;
    await Promise.all(state.queues.map((q) => q.close()));
    await state.dash.stop();
    await state.redis.stop();
  },
  subjects: [
    {
      name: 'raw BullMQ (counts + metrics)',
      baseline: true,
      async run(state) {
        const times = [];
        for (let i = 0; i < REQUESTS; i++) {
          const t = performance.now();
          await Promise.all(
            state.queues.map((q) => Promise.all([q.getJobCounts(), q.isPaused(), q.getMetrics('completed', 0, 59), q.getMetrics('failed', 0, 59)])),
          );
          times.push(performance.now() - t);
        }
        return { value: median(times) };
      },
    },
    {
      name: 'rqctl',
      async run(state) {
        const times = [];
        for (let i = 0; i < REQUESTS; i++) {
          const t = performance.now();
          const r = await fetch(`${state.url}api/overview`);
          await r.json();
          times.push(performance.now() - t);
        }
        const m = median(times);
        return { value: m, extra: { jobListReads: state.monitor.jobListReads, dashboardRssMb: state.dash.peakRssMb } };
      },
    },
  ],
};
