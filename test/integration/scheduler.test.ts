import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Queue, Worker } from 'bullmq';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { runDoctor } from '../../src/doctor/index.js';
import { schedulerChecks } from '../../src/doctor/scheduler-checks.js';
import { startScheduler, type SchedulerEvent } from '../../src/runtime/scheduler.js';
import { scheduleKeys } from '../../src/schedule/keys.js';
import { startJobWorker } from '../helpers/job-worker.js';
import { RedisServer } from '../helpers/redis-server.js';
import { dropPrefix, keysUnder, redisClient, scheduleConfig, scheduleDir, sleep, uniquePrefix } from '../helpers/schedule.js';

const url = inject('plainRedisUrl');
const redis = redisClient(url);
const prefixes: string[] = [];
const newPrefix = (tag: string) => {
  const p = uniquePrefix(tag);
  prefixes.push(p);
  return p;
};

afterAll(async () => {
  for (const p of prefixes) await dropPrefix(redis, p);
  redis.disconnect();
});

const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean) : []);

describe('command entries', () => {
  it('withoutOverlapping: a slow command never overlaps itself, across two schedulers', async () => {
    const prefix = newPrefix('overlap');
    const file = join(scheduleDir(undefined), 'runs.log');
    const { config: cfg } = scheduleConfig(
      [
        {
          name: 'slow',
          cron: '* * * * * *',
          withoutOverlapping: true,
          command: `echo "start $(date +%s%N)" >> ${file}; sleep 2.5; echo "end $(date +%s%N)" >> ${file}`,
        },
      ],
      { REDIS_URL: url, QUEUE_PREFIX: prefix },
    );
    const events: SchedulerEvent[] = [];
    const log = (e: SchedulerEvent) => events.push(e);
    const a = await startScheduler(cfg, { log });
    const b = await startScheduler(cfg, { log });
    await sleep(6500);
    await Promise.all([a.close(), b.close()]);

    const got = lines(file);
    // start, end, start, end…: a start never comes while a run is still going.
    expect(got.length % 2).toBe(0);
    got.forEach((l, i) => expect(l.startsWith(i % 2 === 0 ? 'start' : 'end')).toBe(true));
    const starts = got.length / 2;
    expect(starts).toBeGreaterThanOrEqual(2);
    expect(starts).toBeLessThanOrEqual(3);
    const skipped = events.filter((e) => e.event === 'tick.skipped' && /withoutOverlapping/.test(String(e.reason)));
    expect(skipped.length).toBeGreaterThanOrEqual(2);
    // The lock is gone once the last run has finished.
    expect(await redis.exists(scheduleKeys(prefix).running('slow'))).toBe(0);
  });

  it('a command that outlives its timeout is stopped with its children, and the run is recorded as timed out', async () => {
    const prefix = newPrefix('timeout');
    const pidFile = join(scheduleDir(undefined), 'pid');
    const { config } = scheduleConfig([{ name: 'hang', cron: '* * * * * *', timeout: '1s', command: `echo $$ > ${pidFile}; sleep 30 & sleep 30` }], {
      REDIS_URL: url,
      QUEUE_PREFIX: prefix,
    });
    const events: SchedulerEvent[] = [];
    const started = Date.now();
    await startScheduler(config, { log: (e) => events.push(e), once: true });
    expect(Date.now() - started).toBeLessThan(20_000);
    const finished = events.find((e) => e.event === 'command.finished');
    expect(finished).toMatchObject({ entry: 'hang', status: 'timed-out', level: 'error' });
    const record = JSON.parse((await redis.hget(scheduleKeys(prefix).lastRun, 'hang'))!);
    expect(record).toMatchObject({ entry: 'hang', status: 'timed-out', exitCode: null, signal: 'SIGTERM' });
    expect(record.durationMs).toBeGreaterThanOrEqual(1000);
    // The whole process group is gone: the background `sleep 30` too.
    const pgid = Number(readFileSync(pidFile, 'utf8').trim());
    const groupAlive = () => {
      try {
        process.kill(-pgid, 0);
        return true;
      } catch {
        return false;
      }
    };
    // Killed processes are reaped by init a moment later; `sleep 30` would still be there.
    for (let i = 0; i < 50 && groupAlive(); i++) await sleep(100);
    expect(groupAlive()).toBe(false);
  });

  it('--once runs the tick of the last minute once, however often it is started', async () => {
    const prefix = newPrefix('once');
    const file = join(scheduleDir(undefined), 'ticks.log');
    const { config } = scheduleConfig(
      [
        { name: 'minutely', cron: '* * * * *', command: `echo "$RQCTL_SCHEDULE_ENTRY $RQCTL_SCHEDULE_TICK" >> ${file}` },
        { name: 'never-now', cron: '0 0 1 1 *', command: `echo never >> ${file}` },
      ],
      { REDIS_URL: url, QUEUE_PREFIX: prefix },
    );
    const minutes = new Set<number>();
    for (let i = 0; i < 3; i++) {
      minutes.add(Math.floor(Date.now() / 60_000));
      await startScheduler(config, { log: () => {}, once: true });
      minutes.add(Math.floor(Date.now() / 60_000));
    }
    const got = lines(file);
    expect(got.every((l) => l.startsWith('minutely '))).toBe(true);
    const ticks = got.map((l) => l.split(' ')[1]);
    expect(new Set(ticks).size).toBe(ticks.length);
    expect(ticks.length).toBeGreaterThanOrEqual(1);
    expect(ticks.length).toBeLessThanOrEqual(minutes.size);
    for (const t of ticks) expect(t).toMatch(/:00\.000Z$/);
    // The run is recorded with its exit code and duration.
    const record = JSON.parse((await redis.hget(scheduleKeys(prefix).lastRun, 'minutely'))!);
    expect(record).toMatchObject({ status: 'ok', exitCode: 0 });
    expect(typeof record.durationMs).toBe('number');
  });
});

describe('job entries', () => {
  it('two schedulers create each run once; a worker gets one job per tick', async () => {
    const prefix = newPrefix('jobs');
    const { config } = scheduleConfig([{ name: 'raffles:tick', cron: '* * * * * *', job: { name: 'UpdateRaffleStatuses', data: { source: 'test' } } }], {
      REDIS_URL: url,
      QUEUE_PREFIX: prefix,
    });
    const a = await startScheduler(config, { log: () => {} });
    const b = await startScheduler(config, { log: () => {} });
    const seen: { id: string; name: string; data: unknown }[] = [];
    const worker = new Worker(
      'default',
      async (job) => {
        seen.push({ id: job.id!, name: job.name, data: job.data });
      },
      { connection: { host: '127.0.0.1', port: Number(new URL(url).port), maxRetriesPerRequest: null }, prefix },
    );
    await sleep(4500);
    await worker.close();
    await Promise.all([a.close(), b.close()]);
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(seen.length).toBeLessThanOrEqual(6);
    expect(new Set(seen.map((s) => s.id)).size).toBe(seen.length);
    for (const s of seen) {
      expect(s.name).toBe('UpdateRaffleStatuses');
      expect(s.data).toEqual({ source: 'test' });
      expect(s.id).toMatch(/^repeat:raffles:tick:\d+$/);
    }
    const q = new Queue('default', { connection: redis, prefix });
    await q.removeJobScheduler('raffles:tick');
    await q.close();
  });

  it('start-up removes job schedulers rqctl made that left the config, and leaves foreign ones (with a warning)', async () => {
    const prefix = newPrefix('managed');
    const env = { REDIS_URL: url, QUEUE_PREFIX: prefix };
    const first = scheduleConfig(
      [
        { name: 'keep', cron: '*/5 * * * *', job: { name: 'UpdateRaffleStatuses' } },
        { name: 'drop', cron: '0 * * * *', job: { name: 'SelectRaffleWinners' } },
      ],
      env,
    ).config;
    await (await startScheduler(first, { log: () => {}, once: true })).close();
    const q = new Queue('default', { connection: redis, prefix });
    await q.upsertJobScheduler('foreign', { pattern: '0 0 * * *' }, { name: 'Other' });
    expect((await q.getJobSchedulers()).map((s) => s.key).sort()).toEqual(['drop', 'foreign', 'keep']);

    const second = scheduleConfig([{ name: 'keep', cron: '*/5 * * * *', job: { name: 'UpdateRaffleStatuses' } }], env).config;
    const events: SchedulerEvent[] = [];
    await startScheduler(second, { log: (e) => events.push(e), once: true });
    expect((await q.getJobSchedulers()).map((s) => s.key).sort()).toEqual(['foreign', 'keep']);
    expect(events).toContainEqual(expect.objectContaining({ event: 'schedule.job-scheduler', action: 'removed', entry: 'drop' }));
    expect(events).toContainEqual(expect.objectContaining({ event: 'schedule.orphan', entry: 'foreign', level: 'warn' }));
    expect(await keysUnder(redis, `${prefix}:default:repeat:drop`)).toEqual([]);
    await q.removeJobScheduler('foreign');
    await q.removeJobScheduler('keep');
    await q.close();
  });
});

describe('the raffle jobs run on schedule', () => {
  it('two schedulers and a worker: statuses move on and winners are drawn once', async () => {
    // Raffle keys are unprefixed (docs/jobs.md): a server of our own, so no other test's raffles move.
    const server = await RedisServer.start({ args: ['--maxmemory-policy', 'noeviction'] });
    const c = server.client();
    try {
      const { config } = scheduleConfig(
        [
          { name: 'raffles:update-statuses', cron: '* * * * * *', job: { name: 'UpdateRaffleStatuses' } },
          { name: 'raffles:select-winners', cron: '* * * * * *', job: { name: 'SelectRaffleWinners' } },
        ],
        { REDIS_URL: server.url() },
      );
      const now = Math.floor(Date.now() / 1000);
      await c.sadd('raffles', 'starting', 'over');
      await c.hset('raffle:starting', { name: 'Starting', status: 'scheduled', starts_at: now - 5, ends_at: now + 3600, winners_count: 1 });
      await c.hset('raffle:over', { name: 'Over', status: 'active', starts_at: now - 3600, ends_at: now - 5, winners_count: 2 });
      await c.sadd('raffle:over:entries', 'u1', 'u2', 'u3', 'u4', 'u5');

      const a = await startScheduler(config, { log: () => {} });
      const b = await startScheduler(config, { log: () => {} });
      const worker = await startJobWorker(config, ['default']);
      for (let i = 0; i < 100; i++) {
        const [status, winners] = await Promise.all([c.hget('raffle:starting', 'status'), c.llen('raffle:over:winners')]);
        if (status === 'active' && winners > 0) break;
        await sleep(100);
      }
      await sleep(2500); // a few more ticks: winners must not be drawn again
      await worker.close();
      await Promise.all([a.close(), b.close()]);

      expect(await c.hget('raffle:starting', 'status')).toBe('active');
      expect(await c.hget('raffle:over', 'status')).toBe('ended');
      const winners = await c.lrange('raffle:over:winners', 0, -1);
      expect(winners).toHaveLength(2);
      expect(new Set(winners).size).toBe(2);
      const dq = new Queue('default', { connection: c, prefix: config.queue.prefix });
      const ran = await dq.getCompleted();
      await dq.close();
      expect(ran.length).toBeGreaterThanOrEqual(4);
      expect(ran.every((j) => /^repeat:raffles:(update-statuses|select-winners):\d+$/.test(j.id!))).toBe(true);
      expect(new Set(ran.map((j) => j.id)).size).toBe(ran.length);
    } finally {
      c.disconnect();
      await server.stop();
    }
  });
});

describe('doctor', () => {
  it('warns "no scheduler alive" until a scheduler runs, and says ok while one does', async () => {
    const prefix = newPrefix('doctor');
    const { config } = scheduleConfig([{ name: 'c', cron: '0 0 1 1 *', command: 'true' }], { REDIS_URL: url, QUEUE_PREFIX: prefix });
    const before = await runDoctor(config, [schedulerChecks]);
    expect(before.checks.find((c) => c.id === 'scheduler.alive')).toMatchObject({ status: 'warn', message: expect.stringMatching(/no scheduler alive/) });

    const s = await startScheduler(config, { log: () => {} });
    const during = await runDoctor(config, [schedulerChecks]);
    expect(during.checks.find((c) => c.id === 'scheduler.alive')).toMatchObject({ status: 'ok', message: expect.stringMatching(/1 scheduler alive/) });
    expect(await redis.pttl(scheduleKeys(prefix).heartbeat(s.id))).toBeGreaterThan(0);

    await s.close();
    const after = await runDoctor(config, [schedulerChecks]);
    expect(after.checks.find((c) => c.id === 'scheduler.alive')?.status).toBe('warn');
  });
});
