import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { resolveConfig, type Config } from '../../src/config/resolve.js';
import { closeClient, connectRole, type RedisClient } from '../../src/redis/connect.js';
import { ZsetCursor } from '../../src/queue/walk/zset-cursor.js';
import { listFailed } from '../../src/queue/failed/list.js';
import { exportFailed } from '../../src/queue/failed/detail.js';
import { retryFailed } from '../../src/queue/failed/retry.js';
import { planFlush, runFlush } from '../../src/queue/failed/remove.js';
import { makeFixture, type Fixture } from '../helpers/failed-fixtures.js';

const plain = inject('plainRedisUrl');
const N = 2600;

/**
 * The core against real Redis with more jobs than one page (1,000), failed by a real BullMQ Worker
 * in bulk so that many share a millisecond (the cursor's hard case: ties across page boundaries).
 */
describe('failed-set walking at more than one page', () => {
  let fx: Fixture;
  let config: Config;
  let client: RedisClient;
  const key = () => `${fx.prefix}:default:failed`;
  // Job i: name A when even, B when odd; reason "timeout" when i % 3 === 0, else "HTTP 500".
  const expected = (pred: (i: number) => boolean) => Array.from({ length: N }, (_, i) => i).filter(pred).length;

  beforeAll(async () => {
    fx = await makeFixture(plain);
    config = resolveConfig({ env: fx.env, flags: {}, cwd: mkdtempSync(join(tmpdir(), 'rqctl-cwd-')) });
    client = await connectRole(config, 'queue');
    const q = fx.queue('default');
    for (let i = 0; i < N; i += 1000) {
      await q.addBulk(
        Array.from({ length: Math.min(1000, N - i) }, (_, j) => ({ name: (i + j) % 2 === 0 ? 'A' : 'B', data: { i: i + j }, opts: { attempts: 1 } })),
      );
    }
    await fx.work(
      'default',
      async (job) => {
        throw new Error(job.data.i % 3 === 0 ? 'request timeout after 15 s' : 'HTTP 500');
      },
      async () => (await q.getFailedCount()) === N,
      200,
    );
    const scores = await fx.redis.zrange(key(), '0', '-1', 'WITHSCORES');
    const distinct = new Set(scores.filter((_, i) => i % 2 === 1));
    // The fixture is only useful if scores tie.
    expect(distinct.size).toBeLessThan(N);
  });

  afterAll(async () => {
    await closeClient(client);
    await fx?.close();
  });

  it('the cursor visits every id once, newest first, with ties across pages', async () => {
    const cursor = new ZsetCursor(client, key(), { pageSize: 97 });
    const seen: string[] = [];
    let last = Infinity;
    for (let page = await cursor.next(); page; page = await cursor.next()) {
      for (const e of page) {
        expect(Number(e.score)).toBeLessThanOrEqual(last);
        last = Number(e.score);
        seen.push(e.id);
      }
    }
    expect(seen).toHaveLength(N);
    expect(new Set(seen).size).toBe(N);
  });

  it('the cursor stays exact when the caller removes members as it goes', async () => {
    const tmpKey = `${fx.prefix}:cursor-copy`;
    await fx.redis.zunionstore(tmpKey, 1, key());
    const cursor = new ZsetCursor(client, tmpKey, { pageSize: 50 });
    const seen = new Set<string>();
    let removed = 0;
    for (let page = await cursor.next(); page; page = await cursor.next()) {
      const gone = page.filter((_, i) => i % 2 === 0).map((e) => e.id);
      for (const e of page) {
        expect(seen.has(e.id)).toBe(false);
        seen.add(e.id);
      }
      if (gone.length) removed += await fx.redis.zrem(tmpKey, ...gone);
      cursor.removed(gone);
    }
    expect(seen.size).toBe(N);
    expect(await fx.redis.zcard(tmpKey)).toBe(N - removed);
    await fx.redis.del(tmpKey);
  });

  it('the cursor pages through more members at one score than fit in a page', async () => {
    const k = `${fx.prefix}:cursor-ties`;
    const pipe = fx.redis.pipeline();
    for (let i = 0; i < 250; i++) pipe.zadd(k, 1000, `same-${i}`);
    for (let i = 0; i < 30; i++) pipe.zadd(k, 500 + i, `other-${i}`);
    await pipe.exec();
    for (const removeEvery of [0, 3]) {
      const cursor = new ZsetCursor(client, k, { pageSize: 40 });
      const seen = new Set<string>();
      for (let page = await cursor.next(); page; page = await cursor.next()) {
        for (const e of page) {
          expect(seen.has(e.id)).toBe(false);
          seen.add(e.id);
        }
        if (removeEvery) {
          const gone = page.filter((_, i) => i % removeEvery === 0).map((e) => e.id);
          if (gone.length) await fx.redis.zrem(k, ...gone);
          cursor.removed(gone);
        }
      }
      expect(seen.size).toBe(280);
    }
    await fx.redis.del(k);
  });

  it('list counts every match but keeps only the newest --limit', async () => {
    const all = await listFailed(config, client, {}, 10);
    expect(all.total).toBe(N);
    expect(all.jobs).toHaveLength(10);
    const max = Number((await fx.redis.zrevrange(key(), 0, 0, 'WITHSCORES'))[1]);
    expect(all.jobs[0].finishedOn).toBe(max);

    const a = await listFailed(config, client, { name: 'A', error: 'TIMEOUT' }, 0);
    expect(a.total).toBe(expected((i) => i % 2 === 0 && i % 3 === 0));
    expect(a.jobs).toHaveLength(a.total);
    expect(a.jobs.every((j) => j.name === 'A' && /timeout/.test(j.failedReason))).toBe(true);
  });

  it('export streams every job, one record at a time', async () => {
    let n = 0;
    const ids = new Set<string>();
    const res = await exportFailed(config, client, { name: 'B' }, 0, (rec) => {
      n++;
      ids.add(rec.id);
      expect(rec.name).toBe('B');
    });
    expect(res.exported).toBe(expected((i) => i % 2 === 1));
    expect(n).toBe(res.exported);
    expect(ids.size).toBe(n);
  });

  it('a filtered retry over several pages moves exactly the matches, even while a worker fails them again at once', async () => {
    const q = fx.queue('default');
    const want = expected((i) => i % 3 === 0);
    // A worker that fails every job again immediately: retried jobs come back to the failed set with
    // newer scores while the retry walks; they must not be met (and retried) a second time.
    let processed = 0;
    const { Worker } = await import('bullmq');
    const w = new Worker(
      'default',
      async () => {
        processed++;
        throw new Error('request timeout after 15 s');
      },
      { connection: fx.connection, prefix: fx.prefix, concurrency: 50 },
    );
    w.on('error', () => {});
    try {
      const res = await retryFailed(config, client, { filter: { error: 'timeout' }, limit: 0 }, false);
      expect(res.retried).toBe(want);
      expect(res.corrupt).toEqual([]);
      // Let the worker finish what was moved.
      const deadline = Date.now() + 30_000;
      while ((await q.getWaitingCount()) + (await q.getActiveCount()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(processed).toBe(want);
    } finally {
      await w.close();
    }
    expect(await q.getFailedCount()).toBe(N);
  });

  it('a limited retry stops at the limit; a dry run changes nothing', async () => {
    const q = fx.queue('default');
    const dry = await retryFailed(config, client, { filter: { name: 'B' }, limit: 0 }, true);
    expect(dry.retried).toBe(expected((i) => i % 2 === 1));
    expect(await q.getWaitingCount()).toBe(0);

    const some = await retryFailed(config, client, { filter: { name: 'B' }, limit: 1234 }, false);
    expect(some.retried).toBe(1234);
    expect(await q.getWaitingCount()).toBe(1234);
    expect(await q.getFailedCount()).toBe(N - 1234);
  });

  it('flush with a cut-off removes only older jobs, in batches', async () => {
    const q = fx.queue('default');
    const failed = await q.getFailedCount();
    // Age half of the failed set by two days.
    const members = await fx.redis.zrange(key(), '0', '-1');
    const old = members.slice(0, 1200);
    const pipe = fx.redis.pipeline();
    for (const id of old) {
      pipe.zadd(key(), Date.now() - 2 * 86_400_000, id);
      pipe.hset(`${fx.prefix}:default:${id}`, 'finishedOn', String(Date.now() - 2 * 86_400_000));
    }
    await pipe.exec();
    const plan = await planFlush(config, client, ['default'], 24);
    expect(plan.total).toBe(1200);
    const res = await runFlush(config, client, plan);
    expect(res.removed).toBe(1200);
    expect(await q.getFailedCount()).toBe(failed - 1200);
    expect(await fx.redis.exists(`${fx.prefix}:default:${old[0]}`)).toBe(0);
  });
});
