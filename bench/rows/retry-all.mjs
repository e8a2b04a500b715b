// Retry all (BENCHMARKS.md): `rqctl failed retry all` on 100,000 failed jobs vs BullMQ's queue.retryJobs,
// both as processes (start-up included on both sides), with rqctl's peak RSS (target ≤ 200 MB).
import { join } from 'node:path';
import { BenchRedis } from '../lib/redis.mjs';
import { runMeasured, mustSucceed } from '../lib/proc.mjs';
import { fillQueue } from '../lib/queue.mjs';
import { waitToFailed } from '../lib/fixtures.mjs';
import { cleanEnv, hasCommand, missing } from '../lib/env.mjs';

const QUEUE = 'bench';

async function check(state, what) {
  const [waiting, failed] = await Promise.all([state.client.llen(`bull:${QUEUE}:wait`), state.client.zcard(`bull:${QUEUE}:failed`)]);
  if (waiting !== state.n || failed !== 0) throw new Error(`${what}: ${waiting} waiting and ${failed} failed after retry-all, expected ${state.n} and 0`);
}

export default {
  id: 'retry-all',
  title: 'failed retry all',
  measure: '`rqctl failed retry all` on N failed jobs vs BullMQ queue.retryJobs (both processes)',
  kind: 'time',
  target: 1.2,
  extraTarget: 'peak RSS ≤ 200 MB',
  checkExtra: (e) => (e?.peakRssMb ?? 0) <= 200,
  rounds: { full: 3, quick: 1 },
  n: (ctx) => (ctx.quick ? 10_000 : 100_000),
  unavailable: (ctx) => (!hasCommand(ctx, ['failed', 'retry']) ? missing('rqctl failed retry') : undefined),
  async setup(ctx) {
    const redis = await BenchRedis.start();
    const n = ctx.quick ? 10_000 : 100_000;
    await fillQueue(redis.url(), QUEUE, n, 'FetchStockData', { attempts: 1 }, (i) => ({ method: 'getStockQuote', params: { symbol: `S${i}` } }));
    return { redis, n, client: redis.client() };
  },
  async before(state) {
    const moved = await waitToFailed(state.client, QUEUE);
    const failed = await state.client.zcard(`bull:${QUEUE}:failed`);
    if (failed !== state.n) throw new Error(`fixture: ${failed} failed jobs (moved ${moved}), expected ${state.n}`);
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
          'raw retryJobs',
          await runMeasured(process.execPath, [join(ctx.root, 'bench/raw/retry-all.mjs'), state.redis.url(), QUEUE], { env: cleanEnv() }),
        );
        await check(state, 'raw');
        return { value: res.ms, extra: { peakRssMb: res.peakRssMb } };
      },
    },
    {
      name: 'rqctl',
      async run(state, ctx) {
        const res = mustSucceed(
          'rqctl failed retry all',
          await runMeasured(process.execPath, [ctx.bin, 'failed', 'retry', 'all', '--queue', QUEUE, '--json'], {
            env: cleanEnv({ REDIS_URL: state.redis.url() }),
            keepStdout: true,
          }),
        );
        const out = JSON.parse(res.stdout);
        if (out.retried !== state.n) throw new Error(`rqctl reported ${out.retried} retried, expected ${state.n}`);
        await check(state, 'rqctl');
        return { value: res.ms, extra: { peakRssMb: res.peakRssMb } };
      },
    },
  ],
};
