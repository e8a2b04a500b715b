import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { resolveConfig, type Config } from '../../src/config/resolve.js';
import { OverviewCollector } from '../../src/dashboard/overview/collector.js';
import { DashboardRedis } from '../../src/dashboard/redis.js';
import { removePrefix, uniquePrefix } from '../helpers/queue.js';

const redisUrl = inject('plainRedisUrl');
const JOB_STATES = /:(wait|paused|active|prioritized|delayed|completed|failed|waiting-children)$/;

/**
 * The overview's collector against a real redis-server, watched with MONITOR: it shows the right
 * counts and metrics, and never reads a job list (at most the 1–2 ids at a list's head, to age the
 * oldest ready job).
 */
describe('the overview collector', () => {
  const prefix = uniquePrefix('ovw');
  let config: Config;
  let redis: DashboardRedis;
  let collector: OverviewCollector;

  beforeAll(async () => {
    config = resolveConfig({ env: { REDIS_URL: redisUrl, QUEUE_PREFIX: prefix }, cwd: '/nonexistent' });
    const u = new URL(redisUrl);
    const connection = { host: u.hostname, port: Number(u.port), maxRetriesPerRequest: null };
    for (const name of ['alpha', 'beta']) {
      const q = new Queue(name, { connection, prefix });
      await q.addBulk(Array.from({ length: 60 }, (_, i) => ({ name: 'Job', data: { i }, opts: { attempts: 1 } })));
      await q.add('Later', {}, { delay: 3_600_000 });
      // 40 jobs finish the way a worker with metrics on finishes them (as `rqctl worker` runs): 30 completed, 10 failed.
      const w = new Worker(name, null, { connection, prefix, autorun: false, metrics: { maxDataPoints: 20160 } });
      for (let i = 0; i < 40; i++) {
        const job = (await w.getNextJob('t'))!;
        if (i % 4 === 3) await job.moveToFailed(new Error('boom'), 't');
        else await job.moveToCompleted('ok', 't', false);
      }
      await w.close();
      await q.close();
    }
    redis = new DashboardRedis(config);
    redis.start();
    collector = new OverviewCollector(config, redis, { readOnly: false, rqctlVersion: 'test' });
    // Connected, and the slower sections read once (as after the first page load).
    for (let i = 0; i < 50 && !redis.isReady('queue'); i++) await new Promise((r) => setTimeout(r, 50));
    await collector.collect();
  }, 60_000);

  afterAll(async () => {
    await collector?.close();
    await redis?.close();
    await removePrefix(redisUrl, prefix);
  });

  it('counts per state, backlog, oldest ready age, and the metrics of the current minute', async () => {
    const o = await collector.collect();
    const alpha = o.queues.find((q) => q.name === 'alpha')!;
    expect(alpha).toMatchObject({ waiting: 20, active: 0, delayed: 1, failed: 10, completed: 30, isPaused: false, backlog: 20 });
    expect(alpha.oldestReadyMs).toBeGreaterThanOrEqual(0);
    const series = o.charts.hour.series.find((s) => s.queue === 'alpha')!;
    // Jobs that finished in the last minute or two (a minute boundary may fall in between).
    expect(series.completed.slice(-2).reduce((a, b) => a + b, 0)).toBe(30);
    expect(series.failed.slice(-2).reduce((a, b) => a + b, 0)).toBe(10);
    expect(o.charts.backlog.series.find((s) => s.queue === 'alpha')!.values.at(-1)).toBe(20);
  });

  it('never reads a job list (MONITOR): at most 2 ids of any job-state key per command', async () => {
    const u = new URL(redisUrl);
    const monitor = await new Redis({ host: u.hostname, port: Number(u.port) }).monitor();
    const seen: string[][] = [];
    monitor.on('monitor', (_time: string, args: string[]) => seen.push(args));
    try {
      await collector.collect();
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      monitor.disconnect();
    }
    const mine = seen.filter((a) => a.slice(1).some((k) => k.startsWith(`${prefix}:`)));
    expect(mine.length).toBeGreaterThan(0);
    const reads = mine.filter((a) => /^(lrange|zrange|zrevrange|zrangebyscore|zrevrangebyscore|smembers|sscan|zscan|hscan|sort|hgetall)$/i.test(a[0]));
    const jobListReads = reads.filter((a) => JOB_STATES.test(a[1]) && span(a) > 2);
    expect(jobListReads).toEqual([]);
    // Nor a job hash beyond the oldest ready job's add time (the provider limits' per-minute counts are no job).
    expect(mine.filter((a) => /^hgetall$/i.test(a[0]) && !a[1].startsWith(`${prefix}:rqctl:limits:`))).toEqual([]);
    // The provider limits: one status call of the script per provider, as `rqctl limits`.
    const limitReads = mine.filter((a) => /^evalsha$/i.test(a[0]) && a.includes('status'));
    expect(limitReads.map((a) => a[3]).sort()).toEqual([`${prefix}:rqctl:limits:coingecko:log`, `${prefix}:rqctl:limits:finnhub:log`]);
  });
});

/** How many entries a range read asks for (Infinity for a whole-set read). */
function span(args: string[]): number {
  const [cmd, , a, b] = args;
  if (/^(smembers|sscan|zscan|hscan|sort|hgetall)$/i.test(cmd)) return Infinity;
  if (/byscore/i.test(cmd) || args.some((x) => /^(byscore|bylex)$/i.test(x))) return Infinity;
  const start = Number(a);
  const stop = Number(b);
  if (start < 0 && stop < 0) return stop - start + 1;
  if (start >= 0 && stop >= 0) return stop - start + 1;
  return Infinity;
}
