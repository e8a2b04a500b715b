import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { resolveConfig, type Config } from '../../src/config/resolve.js';
import { closeClient, connectRole, type RedisClient } from '../../src/redis/connect.js';
import { actOnJobs, type ActionResult } from '../../src/queue/find/act.js';
import { compileFind } from '../../src/queue/find/filter.js';
import { findJobs } from '../../src/queue/find/find.js';
import { emptyTally, walkMatches } from '../../src/queue/find/matches.js';
import { parseWhere } from '../../src/queue/find/where.js';
import { makeFixture, type Fixture } from '../helpers/failed-fixtures.js';

const plain = inject('plainRedisUrl');
const N = 2600;

/**
 * The shared job walker against real Redis, with more jobs than a page, while the lists and sets
 * change under it the way producers and workers change them.
 */
describe('walking every state of a queue', () => {
  let fx: Fixture;
  let config: Config;
  let client: RedisClient;
  const waitKey = () => `${fx.prefix}:default:wait`;

  beforeAll(async () => {
    fx = await makeFixture(plain);
    config = resolveConfig({ env: fx.env, flags: {}, cwd: mkdtempSync(join(tmpdir(), 'rqctl-cwd-')) });
    client = await connectRole(config, 'queue');
  });

  afterAll(async () => {
    await closeClient(client);
    await fx?.close();
  });

  async function fill(queue: string, n: number, opts: Record<string, unknown> = {}): Promise<string[]> {
    const q = fx.queue(queue);
    const ids: string[] = [];
    for (let i = 0; i < n; i += 1000) {
      const jobs = await q.addBulk(
        Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({
          name: 'FetchStockData',
          data: { method: 'getStockQuote', params: { symbol: `S${(i + j) % 7}`, i: i + j } },
          opts,
        })),
      );
      ids.push(...jobs.map((j) => j.id!));
    }
    return ids;
  }

  it('a wait list walk meets every job that stays in the list once, while producers push at the head and workers pop the tail', async () => {
    const start = new Set(await fill('default', N));
    const f = compileFind({ queues: ['default'], states: ['waiting'] });
    const met = new Map<string, number>();
    const popped = new Set<string>();
    let pushed = 0;
    const tally = emptyTally();
    for await (const page of walkMatches(client, fx.prefix, ['default'], f, tally, { readOnly: true, startedAt: Date.now(), pageSize: 97 })) {
      for (const j of page.jobs) met.set(j.id, (met.get(j.id) ?? 0) + 1);
      // Between pages: new jobs at the head (LPUSH, as BullMQ adds them) and a worker taking the oldest.
      const fresh = await fx.queue('default').addBulk(Array.from({ length: 40 }, (_, i) => ({ name: 'FetchStockData', data: { late: pushed + i } })));
      pushed += fresh.length;
      for (let i = 0; i < 15; i++) {
        const id = await fx.redis.rpop(waitKey());
        if (id) popped.add(id);
      }
    }
    expect([...met.values()].every((n) => n === 1)).toBe(true);
    for (const id of start) if (!popped.has(id)) expect(met.has(id), `job ${id} was in the list all along`).toBe(true);
    expect(tally.total).toBe(met.size);
    await fx.redis.del(waitKey());
  });

  it('--remove on waiting jobs removes exactly the matches, across pages, and leaves the others in order', async () => {
    const ids = await fill('removal', N);
    const res = (await actOnJobs(config, client, {
      filter: { queues: ['removal'], states: ['waiting'], where: [parseWhere('params.symbol=S3')] },
      action: 'remove',
      limit: 0,
    })) as ActionResult;
    const matching = ids.filter((_, i) => i % 7 === 3);
    expect(res).toMatchObject({ total: matching.length, acted: matching.length, skipped: [] });
    const left = await fx.redis.lrange(`${fx.prefix}:removal:wait`, 0, -1);
    expect(left).toEqual(ids.filter((_, i) => i % 7 !== 3).reverse());
    const gone = await Promise.all(matching.slice(0, 50).map((id) => fx.redis.exists(`${fx.prefix}:removal:${id}`)));
    expect(gone.every((n) => n === 0)).toBe(true);
  });

  it('--promote --limit promotes that many delayed matches and counts them all; the rest stay delayed', async () => {
    await fill('later', 1500, { delay: 3_600_000 });
    const res = (await actOnJobs(config, client, {
      filter: { queues: ['later'], states: ['delayed'], where: [parseWhere('params.symbol~^s[12]$')] },
      action: 'promote',
      limit: 25,
    })) as ActionResult;
    const expected = Array.from({ length: 1500 }, (_, i) => i % 7).filter((s) => s === 1 || s === 2).length;
    expect(res).toMatchObject({ total: expected, acted: 25, skipped: [] });
    expect(await fx.redis.llen(`${fx.prefix}:later:wait`)).toBe(25);
    expect(await fx.redis.zcard(`${fx.prefix}:later:delayed`)).toBe(1500 - 25);
  });

  it('a stale id (no hash) is reported as corrupt with its state, the listing goes on', async () => {
    await fill('stale', 30);
    await fx.redis.lpush(`${fx.prefix}:stale:wait`, 'ghost');
    await fx.redis.zadd(`${fx.prefix}:stale:delayed`, 1, 'ghost2');
    const res = await findJobs(config, client, { queues: ['stale'], states: compileFind({ states: ['waiting', 'delayed'] }).states }, 10);
    expect(res.total).toBe(30);
    expect(res.jobs).toHaveLength(10);
    expect(res.corrupt.map((c) => [c.id, c.state, c.error])).toEqual([
      ['ghost', 'waiting', 'the job hash is missing (a stale id)'],
      ['ghost2', 'delayed', 'the job hash is missing (a stale id)'],
    ]);
  });
});
