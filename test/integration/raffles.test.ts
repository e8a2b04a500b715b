import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import '../../src/jobs/index.js';
import { getJobType } from '../../src/jobs/registry.js';
import { dispatch, prepareDispatch, type WaitResult } from '../../src/jobs/dispatch.js';
import { drawWinners } from '../../src/jobs/raffles/store.js';
import { ProviderLimits } from '../../src/limits/provider-limits.js';
import { closeClient, connectRole } from '../../src/redis/connect.js';
import { jobEnv, type JobEnv } from '../helpers/job-env.js';
import { startJobWorker, type TestWorker } from '../helpers/job-worker.js';
import { RedisServer } from '../helpers/redis-server.js';

// The raffle keys are unprefixed (other applications create them): this file has its own server.
let redis: RedisServer;
let env: JobEnv;
let worker: TestWorker;
const now = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  redis = await RedisServer.start();
  env = await jobEnv(redis.url(0), { label: 'raffle' });
  worker = await startJobWorker(env.config, ['default'], { concurrency: 2 });
});
afterAll(async () => {
  await worker?.close();
  await env?.cleanup();
  await redis?.stop();
});
beforeEach(async () => {
  await env.queueDb.flushdb();
});

async function createRaffle(id: string, fields: Record<string, string | number>, entries: string[] = []): Promise<void> {
  await env.queueDb.sadd('raffles', id);
  await env.queueDb.hset(`raffle:${id}`, fields);
  if (entries.length) await env.queueDb.sadd(`raffle:${id}:entries`, ...entries);
}

const run = async (job: string) => (await dispatch(env.config, prepareDispatch(env.config, { job }), { waitMs: 30_000 })) as WaitResult;

describe('UpdateRaffleStatuses', () => {
  it('moves raffles scheduled → active at starts_at and → ended at ends_at, never backwards, leaving the rest alone', async () => {
    const t = now();
    await createRaffle('1', { name: 'Future', status: 'scheduled', starts_at: t + 3600, ends_at: t + 7200 });
    await createRaffle('2', { name: 'Started', status: 'scheduled', starts_at: t - 60, ends_at: t + 3600 });
    await createRaffle('3', { name: 'Over', status: 'active', starts_at: t - 7200, ends_at: t - 1 });
    await createRaffle('4', { name: 'Missed entirely', status: 'scheduled', starts_at: t - 7200, ends_at: t - 3600 });
    await createRaffle('5', { name: 'No status yet', starts_at: t - 10, ends_at: t + 10_000 });
    await createRaffle('6', { name: 'Cancelled', status: 'cancelled', starts_at: t - 7200, ends_at: t - 3600 });
    await createRaffle('7', { name: 'Milliseconds', status: 'scheduled', starts_at: (t - 60) * 1000, ends_at: (t + 60) * 1000 });
    await createRaffle('8', { name: 'Done', status: 'ended', starts_at: t - 7200, ends_at: t - 3600 });
    await createRaffle('9', { name: 'Active early', status: 'active', starts_at: t + 600, ends_at: t + 1200 });

    const r = await run('UpdateRaffleStatuses');
    expect(r.state, r.failedReason).toBe('completed');
    const status = async (id: string) => env.queueDb.hget(`raffle:${id}`, 'status');
    expect(await status('1')).toBe('scheduled');
    expect(await status('2')).toBe('active');
    expect(await status('3')).toBe('ended');
    expect(await status('4')).toBe('ended');
    expect(await status('5')).toBe('active');
    expect(await status('6')).toBe('cancelled');
    expect(await status('7')).toBe('scheduled');
    expect(await status('8')).toBe('ended');
    expect(await status('9')).toBe('active');
    const result = r.returnvalue as any;
    expect(result.checked).toBe(9);
    expect(result.changed.map((c: any) => c.id).sort()).toEqual(['2', '3', '4', '5']);
    expect(result.invalid).toEqual(['7']);

    // Running again changes nothing.
    const again = await run('UpdateRaffleStatuses');
    expect((again.returnvalue as any).changed).toEqual([]);
  });
});

describe('SelectRaffleWinners', () => {
  it('draws winners_count distinct entrants of each ended raffle, once', async () => {
    const t = now();
    const entries = Array.from({ length: 100 }, (_, i) => `user-${i}`);
    await createRaffle('10', { name: 'Big', status: 'ended', starts_at: t - 7200, ends_at: t - 60, winners_count: 3 }, entries);
    await createRaffle('11', { name: 'Running', status: 'active', starts_at: t - 60, ends_at: t + 3600, winners_count: 1 }, ['a', 'b']);
    await createRaffle('12', { name: 'Ended by time', status: 'active', starts_at: t - 7200, ends_at: t - 5 }, ['solo', 'duo']);
    await createRaffle('13', { name: 'Few entrants', status: 'ended', starts_at: t - 7200, ends_at: t - 60, winners_count: 5 }, ['x', 'y']);
    await createRaffle('14', { name: 'Nobody came', status: 'ended', starts_at: t - 7200, ends_at: t - 60, winners_count: 2 });

    const r = await run('SelectRaffleWinners');
    expect(r.state, r.failedReason).toBe('completed');
    const winners = (id: string) => env.queueDb.lrange(`raffle:${id}:winners`, 0, -1);

    const big = await winners('10');
    expect(big).toHaveLength(3);
    expect(new Set(big).size).toBe(3);
    for (const w of big) expect(entries).toContain(w);
    expect(Number(await env.queueDb.hget('raffle:10', 'winners_drawn_at'))).toBeGreaterThanOrEqual(t);
    expect(await winners('11')).toEqual([]);
    expect(await env.queueDb.hget('raffle:12', 'status')).toBe('ended');
    expect(await winners('12')).toHaveLength(1); // winners_count defaults to 1
    expect((await winners('13')).sort()).toEqual(['x', 'y']);
    expect(await winners('14')).toEqual([]);
    expect(await env.queueDb.hexists('raffle:14', 'winners_drawn_at')).toBe(1);

    const again = await run('SelectRaffleWinners');
    expect((again.returnvalue as any).drawn).toEqual([]);
    expect(await winners('10')).toEqual(big);
  });

  it('two runs at the same moment draw each raffle exactly once', async () => {
    const t = now();
    const ids = Array.from({ length: 40 }, (_, i) => `c${i}`);
    for (const id of ids)
      await createRaffle(
        id,
        { name: id, status: 'ended', starts_at: t - 7200, ends_at: t - 60, winners_count: 4 },
        Array.from({ length: 60 }, (_, i) => `${id}-e${i}`),
      );

    // Two schedulers' jobs, each with its own connections, racing over the same raffles.
    const contexts = await Promise.all(
      [0, 1].map(async () => {
        const c = await connectRole(env.config, 'queue');
        const limits = new ProviderLimits(env.config, c);
        return {
          c,
          ctx: { config: env.config, signal: new AbortController().signal, job: undefined as never, redis: { queue: c, cache: c }, limits, log: () => {} },
        };
      }),
    );
    try {
      const results = (await Promise.all(contexts.map(({ ctx }) => getJobType('SelectRaffleWinners').process({}, ctx)))) as any[];
      const drawnBy = results.map((r) => r.drawn.length);
      expect(drawnBy[0] + drawnBy[1]).toBe(ids.length);
      for (const id of ids) expect(await env.queueDb.llen(`raffle:${id}:winners`)).toBe(4);
    } finally {
      await Promise.all(contexts.map(({ c }) => closeClient(c)));
    }

    // And as two queued jobs on two workers.
    for (const id of ids) {
      await env.queueDb.del(`raffle:${id}:winners`);
      await env.queueDb.hdel(`raffle:${id}`, 'winners_drawn_at');
    }
    const second = await startJobWorker(env.config, ['default'], { concurrency: 2 });
    try {
      const [a, b] = await Promise.all([run('SelectRaffleWinners'), run('SelectRaffleWinners')]);
      expect((a.returnvalue as any).drawn.length + (b.returnvalue as any).drawn.length).toBe(ids.length);
      for (const id of ids) expect(await env.queueDb.llen(`raffle:${id}:winners`)).toBe(4);
    } finally {
      await second.close();
    }
  });
});

describe('drawWinners', () => {
  it('draws without replacement and spreads evenly over the entrants', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 4000; i++) {
      const [w] = drawWinners(['a', 'b', 'c', 'd'], 1);
      counts.set(w, (counts.get(w) ?? 0) + 1);
    }
    // Expected 1000 each, standard deviation ≈ 27: these bounds are more than 5 deviations wide.
    for (const k of ['a', 'b', 'c', 'd']) {
      expect(counts.get(k)).toBeGreaterThan(850);
      expect(counts.get(k)).toBeLessThan(1150);
    }
    const all = drawWinners(['a', 'b', 'c'], 10);
    expect(all.sort()).toEqual(['a', 'b', 'c']);
  });
});
