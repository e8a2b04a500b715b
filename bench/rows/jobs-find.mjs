// Jobs find (BENCHMARKS.md): `rqctl jobs find --state completed --where params.symbol=AAPL` over
// 100,000 completed jobs vs the leanest raw loop that answers the same question (bench/raw/
// find-completed.mjs: pipelined ZRANGE + HGETALL, JSON.parse, compare), both as processes (start-up
// included on both sides), with both sides' peak RSS. rqctl also discovers the queues (SCAN for
// their meta keys) and checks every hash it reads for corruption (data, opts, progress, parent).
import { join } from 'node:path';
import { BenchRedis } from '../lib/redis.mjs';
import { runMeasured, mustSucceed } from '../lib/proc.mjs';
import { fillQueue } from '../lib/queue.mjs';
import { waitToCompleted } from '../lib/fixtures.mjs';
import { cleanEnv, hasCommand, missing } from '../lib/env.mjs';

const QUEUE = 'default';
const SYMBOLS = [
  'AAPL',
  'MSFT',
  'GOOGL',
  'AMZN',
  'NVDA',
  'META',
  'TSLA',
  'NFLX',
  'AMD',
  'INTC',
  'ORCL',
  'IBM',
  'CSCO',
  'ADBE',
  'CRM',
  'QCOM',
  'TXN',
  'AVGO',
  'PYPL',
  'UBER',
];
// The options rqctl's dispatch gives a FetchStockData job (tries, backoff, retention): a realistic hash.
const OPTS = {
  attempts: 3,
  backoff: { type: 'fixed', delay: 60_000 },
  removeOnComplete: { age: 86_400, count: 10_000 },
  removeOnFail: { age: 2_592_000, count: 100_000 },
};

export default {
  id: 'jobs-find',
  title: 'jobs find',
  measure: '`rqctl jobs find --state completed --where params.symbol=AAPL` over N completed jobs vs a raw pipelined ZRANGE + HGETALL loop (both processes)',
  kind: 'time',
  target: 1.3,
  extraTarget: 'peak RSS ≤ 200 MB',
  checkExtra: (e) => (e?.peakRssMb ?? 0) <= 200,
  rounds: { full: 5, quick: 1 },
  n: (ctx) => (ctx.quick ? 10_000 : 100_000),
  unavailable: (ctx) => (!hasCommand(ctx, ['jobs', 'find']) ? missing('rqctl jobs find') : undefined),
  async setup(ctx) {
    const redis = await BenchRedis.start();
    const n = ctx.quick ? 10_000 : 100_000;
    await fillQueue(redis.url(), QUEUE, n, 'FetchStockData', OPTS, (i) => ({ method: 'getStockQuote', params: { symbol: SYMBOLS[i % SYMBOLS.length] } }));
    const client = redis.client();
    const done = await waitToCompleted(client, QUEUE);
    if (done !== n) throw new Error(`fixture: ${done} completed jobs, expected ${n}`);
    return { redis, n, client, matches: Math.ceil(n / SYMBOLS.length) };
  },
  async teardown(state) {
    if (!state) return;
    state.client.disconnect();
    await state.redis.stop();
  },
  subjects: [
    {
      name: 'raw',
      baseline: true,
      async run(state, ctx) {
        const res = mustSucceed(
          'raw find',
          await runMeasured(process.execPath, [join(ctx.root, 'bench/raw/find-completed.mjs'), state.redis.url(), QUEUE, 'AAPL'], {
            env: cleanEnv(),
            keepStdout: true,
          }),
        );
        const out = JSON.parse(res.stdout);
        if (out.total !== state.matches) throw new Error(`the raw loop found ${out.total}, expected ${state.matches}`);
        return { value: res.ms, extra: { peakRssMb: res.peakRssMb } };
      },
    },
    {
      name: 'rqctl',
      async run(state, ctx) {
        const res = mustSucceed(
          'rqctl jobs find',
          await runMeasured(process.execPath, [ctx.bin, 'jobs', 'find', '--state', 'completed', '--where', 'params.symbol=AAPL', '--json'], {
            env: cleanEnv({ REDIS_URL: state.redis.url() }),
            keepStdout: true,
          }),
        );
        const out = JSON.parse(res.stdout);
        if (out.total !== state.matches || out.jobs.length !== 100)
          throw new Error(`rqctl found ${out.total} (${out.jobs.length} listed), expected ${state.matches}`);
        return { value: res.ms, extra: { peakRssMb: res.peakRssMb } };
      },
    },
  ],
};
