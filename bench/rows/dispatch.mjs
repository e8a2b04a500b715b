// Bulk dispatch (BENCHMARKS.md): N jobs through rqctl's bulk dispatch (payload validated against the job
// type's schema, rqctl's job options: tries, backoff, retention) vs raw Queue.addBulk of the same
// payloads, in bulks of 1,000, in one process, alternating.
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { BenchRedis } from '../lib/redis.mjs';
import { benchConfig, importDist } from '../lib/rqctl.mjs';
import { connectionOf } from '../lib/queue.mjs';
import { distHas, missing } from '../lib/env.mjs';
import { Queue } from 'bullmq';

const QUEUE = 'bench';
const BULK = 1000;

async function timed(state, addOne) {
  await state.client.flushdb();
  const t0 = performance.now();
  for (let i = 0; i < state.n; i += BULK) await addOne(i, Math.min(state.n, i + BULK));
  const ms = performance.now() - t0;
  const waiting = await state.client.llen(`bull:${QUEUE}:wait`);
  if (waiting !== state.n) throw new Error(`${waiting} jobs waiting, expected ${state.n}`);
  return { value: (state.n * 1000) / ms };
}

export default {
  id: 'dispatch',
  title: 'bulk dispatch',
  measure: 'N jobs in bulks of 1,000: rqctl dispatchBulk vs raw Queue.addBulk',
  kind: 'rate',
  unit: 'jobs',
  target: 0.9,
  rounds: { full: 5, quick: 2 },
  warmup: true,
  n: (ctx) => (ctx.quick ? 10_000 : 100_000),
  async unavailable(ctx) {
    if (!distHas(ctx, 'jobs/dispatch.js')) return missing('src/jobs/dispatch.ts');
    const mod = await importDist(ctx, 'jobs/dispatch.js');
    return typeof mod.dispatchBulk === 'function' ? undefined : missing('dispatchBulk in src/jobs/dispatch.ts');
  },
  async setup(ctx) {
    const redis = await BenchRedis.start();
    const config = await benchConfig(ctx, { REDIS_URL: redis.url(0) });
    const { registerJobType } = await importDist(ctx, 'jobs/registry.js');
    for (const t of (await import(pathToFileURL(join(ctx.root, 'bench/jobs/noop.mjs')).href)).default) registerJobType({ ...t });
    const { dispatchBulk } = await importDist(ctx, 'jobs/dispatch.js');
    const { connectRole, closeClient } = await importDist(ctx, 'redis/connect.js');
    const rq = await connectRole(config, 'queue');
    const rawQueue = new Queue(QUEUE, { connection: connectionOf(redis.url(0)), prefix: 'bull' });
    // The raw side adds what rqctl adds: the same payloads, attempts, backoff and retention.
    const retention = {
      removeOnComplete: { age: config.queue.keepCompleted.age, count: config.queue.keepCompleted.count },
      removeOnFail: { age: config.queue.keepFailed.age, count: config.queue.keepFailed.count },
    };
    const rawOpts = { attempts: 3, backoff: { type: 'fixed', delay: 60_000 }, ...retention };
    return { redis, config, rq, rawQueue, rawOpts, dispatchBulk, closeClient, client: redis.client(), n: ctx.quick ? 10_000 : 100_000 };
  },
  async teardown(s) {
    if (!s) return;
    await s.rawQueue.close();
    await s.closeClient(s.rq);
    s.client.disconnect();
    await s.redis.stop();
  },
  subjects: [
    {
      name: 'raw',
      baseline: true,
      run: (s) =>
        timed(s, (from, to) => {
          const batch = [];
          for (let i = from; i < to; i++) batch.push({ name: 'BenchNoop', data: { i }, opts: s.rawOpts });
          return s.rawQueue.addBulk(batch);
        }),
    },
    {
      name: 'rqctl',
      run: (s) =>
        timed(s, (from, to) => {
          const batch = [];
          for (let i = from; i < to; i++) batch.push({ job: 'BenchNoop', data: { i } });
          return s.dispatchBulk(s.config, batch, { client: s.rq });
        }),
    },
  ],
};
