import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { makeFixture, type Fixture } from '../helpers/failed-fixtures.js';

/**
 * Issue 13, item 15: an unfiltered `failed retry all` (BullMQ's server-side bulk move) must not move
 * corrupt job hashes to waiting, where a worker cannot load them and they fail again only after the
 * stall limit. They stay in the failed set, with their failure time, and are reported.
 */

const plain = inject('plainRedisUrl');

describe('item 15: retry all leaves corrupt jobs failed', () => {
  let fx: Fixture;
  let scores: Map<string, string>;
  const cli = (...args: string[]) => runCli(args, { env: fx.env });
  const failedKey = () => `${fx.prefix}:default:failed`;

  beforeEach(async () => {
    fx = await makeFixture(plain);
    const q = fx.queue('default');
    await q.addBulk(
      Array.from({ length: 8 }, (_, i) => ({ name: 'FetchStockData', data: { method: 'getStockQuote', params: { symbol: `C${i}` } }, opts: { attempts: 1 } })),
    );
    await fx.work(
      'default',
      async () => {
        throw new Error('HTTP 500');
      },
      async () => (await q.getFailedCount()) === 8,
    );
    await fx.redis.hset(`${fx.prefix}:default:2`, 'data', '{not json');
    await fx.redis.hset(`${fx.prefix}:default:4`, 'opts', '{"attempts":');
    await fx.redis.hset(`${fx.prefix}:default:6`, 'progress', 'nope');
    // A stale id whose hash is gone, older than every real job (the bulk move starts with the oldest).
    await fx.redis.zadd(failedKey(), 1000, 'ghost');
    const all = await fx.redis.zrange(failedKey(), '0', '-1', 'WITHSCORES');
    scores = new Map();
    for (let i = 0; i < all.length; i += 2) scores.set(all[i], all[i + 1]);
  });

  afterEach(async () => {
    await fx?.close();
  });

  it('item 15: an unfiltered failed retry all leaves corrupt job hashes in the failed set (same failure time) and reports them', async () => {
    const r = await cli('failed', 'retry', 'all', '--json');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.json.retried).toBe(5);
    expect(r.json.queues).toContainEqual({ name: 'default', retried: 5, method: 'bulk' });
    const corrupt = Object.fromEntries(r.json.corrupt.map((c: { id: string; error: string }) => [c.id, c.error]));
    expect(Object.keys(corrupt).sort()).toEqual(['2', '4', '6', 'ghost']);
    expect(corrupt['2']).toMatch(/^data is not valid JSON/);
    expect(corrupt['4']).toMatch(/^opts is not valid JSON/);
    expect(corrupt['6']).toMatch(/^progress is not valid JSON/);
    expect(corrupt.ghost).toMatch(/missing/);
    expect(r.json).not.toHaveProperty('corruptMoved');
    // Still failed, with the time they failed; the readable ones wait.
    const left = await fx.redis.zrange(failedKey(), '0', '-1', 'WITHSCORES');
    const leftScores = new Map<string, string>();
    for (let i = 0; i < left.length; i += 2) leftScores.set(left[i], left[i + 1]);
    expect([...leftScores.keys()].sort()).toEqual(['2', '4', '6', 'ghost']);
    for (const [id, score] of leftScores) expect(score, id).toBe(scores.get(id));
    const waiting = await fx.redis.lrange(`${fx.prefix}:default:wait`, 0, -1);
    expect(waiting.sort()).toEqual(['1', '3', '5', '7', '8']);
  });

  it("item 15: where SORT may not read the job hashes (an ACL user limited to the queue's keys), they are found page by page", async () => {
    const user = `u${fx.prefix}`;
    await fx.redis.call('ACL', 'SETUSER', user, 'on', '>pw-15', `~${fx.prefix}:*`, '&*', '+@all');
    try {
      const u = new URL(plain);
      const r = await runCli(['failed', 'retry', 'all', '--json'], { env: { ...fx.env, REDIS_URL: `redis://${user}:pw-15@${u.host}${u.pathname}` } });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.json.retried).toBe(5);
      expect(r.json.corrupt.map((c: { id: string }) => c.id).sort()).toEqual(['2', '4', '6', 'ghost']);
      expect((await fx.redis.zrange(failedKey(), '0', '-1')).sort()).toEqual(['2', '4', '6', 'ghost']);
    } finally {
      await fx.redis.call('ACL', 'DELUSER', user);
    }
  });

  it('item 15: the human summary says the corrupt ones stayed failed', async () => {
    const r = await cli('failed', 'retry', 'all');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/4 corrupt job hashes? .*stay(ed)? in the failed set/);
    expect(r.stdout + r.stderr).not.toMatch(/moves them too|moved too/);
  });

  it('item 15: jobs parked by an interrupted run (negative scores) get their failure time back on the next run', async () => {
    // What a run stopped between parking and restoring leaves: a corrupt job scored -(score) - 1.
    const original = Number(scores.get('2'));
    await fx.redis.zadd(failedKey(), String(-original - 1), '2');
    const r = await cli('failed', 'retry', 'all', '--json');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await fx.redis.zscore(failedKey(), '2')).toBe(String(original));
  });

  it('failed retry all --dry-run --json: no "corruptMoved", and the count leaves the corrupt ones out', async () => {
    const r = await cli('failed', 'retry', 'all', '--dry-run', '--json');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.json).not.toHaveProperty('corruptMoved');
    expect(r.json.retried).toBe(5);
    expect(r.json.corrupt).toHaveLength(4);
    expect(await fx.redis.zcard(failedKey())).toBe(9);
  });

  it('failed retry all --dry-run --json with no corrupt jobs reports no "corruptMoved"', async () => {
    await fx.redis.zrem(failedKey(), 'ghost');
    for (const id of ['2', '4', '6']) await fx.redis.zrem(failedKey(), id);
    const r = await cli('failed', 'retry', 'all', '--dry-run', '--json');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.json).toEqual({
      retried: 5,
      dryRun: true,
      queues: expect.arrayContaining([{ name: 'default', retried: 5, method: 'per-job' }]),
      corrupt: [],
      skipped: [],
    });
  });
});
