import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { runCli, spawnCli, stopProcess, waitForOutput } from '../helpers/cli.js';
import { freePort } from '../helpers/redis-server.js';
import { dropPrefix, keysUnder, redisClient, scheduleDir, sleep, uniquePrefix } from '../helpers/schedule.js';

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

describe('rqctl scheduler', () => {
  it('two processes running a */2-seconds command for ten seconds run it about five times, each tick once', async () => {
    const prefix = newPrefix('two');
    const probe = scheduleDir(undefined);
    const file = join(probe, 'ticks.log');
    const cwd = scheduleDir([{ name: 'every-2s', cron: '*/2 * * * * *', command: `echo "$RQCTL_SCHEDULE_TICK" >> ${file}` }]);
    const env = { REDIS_URL: url, QUEUE_PREFIX: prefix };
    const a = spawnCli(['scheduler'], { cwd, env });
    const b = spawnCli(['scheduler'], { cwd, env });
    try {
      await Promise.all([waitForOutput(a, (s) => s.includes('scheduler.started')), waitForOutput(b, (s) => s.includes('scheduler.started'))]);
      const from = Date.now();
      await sleep(10_000);
      const until = Date.now();
      const [ra, rb] = await Promise.all([stopProcess(a), stopProcess(b)]);
      expect(ra.code).toBe(0);
      expect(rb.code).toBe(0);
      const ticks = lines(file).map((l) => l.split(' ')[0]);
      // One run per tick: no tick appears twice, whichever process ran it.
      expect(new Set(ticks).size).toBe(ticks.length);
      const inWindow = ticks.filter((t) => Date.parse(t) >= from && Date.parse(t) <= until);
      expect(inWindow.length).toBeGreaterThanOrEqual(4);
      expect(inWindow.length).toBeLessThanOrEqual(6);
      for (const t of ticks) expect(new Date(t).getUTCSeconds() % 2).toBe(0);
    } finally {
      await Promise.all([stopProcess(a, 'SIGKILL'), stopProcess(b, 'SIGKILL')]);
    }
  });

  it('SIGTERM lets the running command finish, records it, removes the heartbeat and exits 0', async () => {
    const prefix = newPrefix('sigterm');
    const probe = scheduleDir(undefined);
    const file = join(probe, 'out.log');
    const cwd = scheduleDir([{ name: 'slowish', cron: '* * * * * *', withoutOverlapping: true, command: `sleep 2; echo finished >> ${file}` }]);
    const child = spawnCli(['scheduler'], { cwd, env: { REDIS_URL: url, QUEUE_PREFIX: prefix } });
    let output = '';
    child.stdout!.on('data', (d) => (output += d));
    try {
      await waitForOutput(child, (s) => s.includes('command.started'));
      const { code } = await stopProcess(child, 'SIGTERM');
      expect(code).toBe(0);
      expect(lines(file)).toEqual(['finished']);
      const events = output
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(events.map((e) => e.event)).toEqual(expect.arrayContaining(['scheduler.stopping', 'command.finished', 'scheduler.stopped']));
      const record = JSON.parse((await redis.hget(`${prefix}:rqctl:schedule:last-run`, 'slowish'))!);
      expect(record).toMatchObject({ status: 'ok', exitCode: 0 });
      expect(record.durationMs).toBeGreaterThanOrEqual(2000);
      expect(await keysUnder(redis, `${prefix}:rqctl:scheduler`)).toEqual([]);
    } finally {
      await stopProcess(child, 'SIGKILL');
    }
  });

  it('a 4-field cron exits 2 and names the entry, before connecting', async () => {
    const cwd = scheduleDir([{ name: 'broken-entry', cron: '*/5 * * *', command: 'true' }]);
    // Nothing listens on this port: a config error must come first.
    const env = { REDIS_URL: `redis://127.0.0.1:${await freePort()}/0` };
    for (const args of [['scheduler'], ['scheduler', '--once'], ['schedule', 'list'], ['schedule', 'sync']]) {
      const r = await runCli(args, { cwd, env });
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/schedule\.0 \(broken-entry\): cron "\*\/5 \* \* \*" has 4 fields/);
    }
  });

  it('a cron that never fires (Feb 31st) and an unknown timezone are refused', async () => {
    const cwd = scheduleDir([
      { name: 'feb-31', cron: '0 0 31 2 *', command: 'true' },
      { name: 'mars', cron: '0 * * * *', timezone: 'Mars/Olympus', job: { name: 'UpdateRaffleStatuses' } },
    ]);
    const r = await runCli(['scheduler', '--json'], { cwd, env: { REDIS_URL: `redis://127.0.0.1:${await freePort()}/0` } });
    expect(r.exitCode).toBe(2);
    const err = JSON.parse(r.stderr.trim().split('\n').pop()!).error;
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toMatch(/feb-31.*never fires/);
    expect(err.message).toMatch(/mars.*unknown timezone "Mars\/Olympus"/);
  });
});

describe('job entry payloads', () => {
  it("a payload that fails the job type's schema is refused with exit 2, naming the entry; nothing is written", async () => {
    const prefix = newPrefix('payload');
    const cwd = scheduleDir([{ name: 'bad-mail', cron: '0 8 * * *', job: { name: 'SendEmail', data: { template: 'nope' } } }]);
    for (const args of [
      ['schedule', 'sync'],
      ['scheduler', '--once'],
    ]) {
      const r = await runCli(args, { cwd, env: { REDIS_URL: url, QUEUE_PREFIX: prefix } });
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/schedule\.0 \(bad-mail\): job data does not match SendEmail's payload schema/);
    }
    expect(await keysUnder(redis, prefix)).toEqual([]);
  });
});

describe('rqctl schedule list', () => {
  it('shows the four default entries with their next runs (--json)', async () => {
    const prefix = newPrefix('list');
    const before = Date.now();
    const r = await runCli(['schedule', 'list', '--json', '--next', '4'], { env: { REDIS_URL: url, QUEUE_PREFIX: prefix } });
    expect(r.exitCode).toBe(0);
    const entries = r.json.entries;
    expect(entries.map((e: any) => [e.name, e.cron, e.target, e.timezone])).toEqual([
      ['raffles:update-statuses', '*/5 * * * *', 'UpdateRaffleStatuses', 'UTC'],
      ['raffles:select-winners', '0 * * * *', 'SelectRaffleWinners', 'UTC'],
      ['refresh-crypto-cache', '*/15 * * * *', 'RefreshCryptoCache', 'UTC'],
      ['refresh-stock-cache', '*/15 * * * *', 'RefreshStockCache', 'UTC'],
    ]);
    const minutesStep = [5, 60, 15, 15];
    entries.forEach((e: any, i: number) => {
      expect(e.next).toHaveLength(4);
      const times = e.next.map((t: string) => Date.parse(t));
      expect(times[0]).toBeGreaterThan(before);
      for (let k = 1; k < times.length; k++) expect(times[k] - times[k - 1]).toBe(minutesStep[i] * 60_000);
      for (const t of times) expect((t / 60_000) % minutesStep[i]).toBe(0);
      expect(e.lastRun).toBeNull();
      expect(e.synced).toBe(false);
    });
    // Listing changes nothing in Redis.
    expect(await keysUnder(redis, prefix)).toEqual([]);
  });

  it('lists without Redis (last runs unknown) and says why on stderr', async () => {
    const r = await runCli(['schedule', 'list', '--json'], { env: { REDIS_URL: `redis://127.0.0.1:${await freePort()}/0` } });
    expect(r.exitCode).toBe(0);
    expect(r.json.entries).toHaveLength(4);
    expect(r.stderr).toMatch(/refused the connection.*last runs unknown/);
  });

  it('prints next runs in the entry timezone and the last run of a command', async () => {
    const prefix = newPrefix('list-tz');
    const env = { REDIS_URL: url, QUEUE_PREFIX: prefix };
    const cwd = scheduleDir([
      { name: 'berlin-night', cron: '30 2 * * *', timezone: 'Europe/Berlin', command: 'true' },
      { name: 'fast', every: '30s', command: 'echo hi' },
    ]);
    await redis.hset(
      `${prefix}:rqctl:schedule:last-run`,
      'fast',
      JSON.stringify({
        entry: 'fast',
        tick: '2026-01-01T00:00:00.000Z',
        status: 'failed',
        startedAt: '2026-01-01T00:00:00.010Z',
        durationMs: 12,
        exitCode: 3,
        host: 'h',
        pid: 1,
      }),
    );
    const r = await runCli(['schedule', 'list', '--json'], { cwd, env });
    expect(r.exitCode).toBe(0);
    const [berlin, fast] = r.json.entries;
    for (const t of berlin.next) expect(t).toMatch(/T02:30:00\.000\+0[12]:00$/);
    expect(fast).toMatchObject({ cron: null, every: '30s', everyMs: 30_000, target: 'echo hi', lastRun: { status: 'failed', exitCode: 3, durationMs: 12 } });
    const human = await runCli(['schedule', 'list'], { cwd, env });
    expect(human.stdout).toMatch(/berlin-night\s+30 2 \* \* \*\s+Europe\/Berlin/);
    expect(human.stdout).toMatch(/fast\s+every 30s.*failed.*exit 3/);
  });
});

describe('rqctl schedule sync', () => {
  it('prints the diff, --dry-run changes nothing, and removed schedulers leave no keys behind', async () => {
    const prefix = newPrefix('sync');
    const env = { REDIS_URL: url, QUEUE_PREFIX: prefix };
    // A job scheduler nobody configured, whose first run is already waiting in the queue.
    const reports = new Queue('reports', { connection: redis, prefix });
    await reports.upsertJobScheduler('orphan', { every: 60_000 }, { name: 'Report', data: { x: 1 } });
    expect(await reports.getWaitingCount()).toBe(1);

    const v1 = scheduleDir([
      { name: 'a', cron: '*/5 * * * *', job: { name: 'UpdateRaffleStatuses' } },
      { name: 'b', every: '15m', job: { name: 'RefreshCryptoCache', data: { reason: 'test' } } },
      { name: 'cmd', cron: '* * * * *', command: 'true' },
    ]);
    const dry = await runCli(['schedule', 'sync', '--dry-run', '--json'], { cwd: v1, env });
    expect(dry.exitCode).toBe(0);
    expect(dry.json).toMatchObject({ dryRun: true, changed: [], unchanged: [] });
    expect(dry.json.added.map((x: any) => [x.name, x.queue, x.job])).toEqual([
      ['a', 'default', 'UpdateRaffleStatuses'],
      ['b', 'default', 'RefreshCryptoCache'],
    ]);
    expect(dry.json.removed.map((x: any) => [x.name, x.queue])).toEqual([['orphan', 'reports']]);
    expect(await redis.zrange(`${prefix}:reports:repeat`, '0', '-1')).toEqual(['orphan']);
    expect(await redis.exists(`${prefix}:default:repeat`)).toBe(0);

    const human = await runCli(['schedule', 'sync'], { cwd: v1, env });
    expect(human.exitCode).toBe(0);
    expect(human.stdout).toMatch(/^\+ a\s+\*\/5 \* \* \* \*\s+UpdateRaffleStatuses → queue default$/m);
    expect(human.stdout).toMatch(/^- orphan\s+\(queue reports/m);
    expect(human.stderr).toMatch(/2 added, 0 changed, 1 removed, 0 unchanged/);
    // The orphan is gone with its pending run: no key of it remains, nothing waits in its queue.
    expect(await keysUnder(redis, `${prefix}:reports:repeat`)).toEqual([]);
    expect(await reports.getWaitingCount()).toBe(0);
    expect(await reports.getDelayedCount()).toBe(0);
    expect(await redis.zrange(`${prefix}:default:repeat`, '0', '-1')).toEqual(expect.arrayContaining(['a', 'b']));

    const again = await runCli(['schedule', 'sync', '--json'], { cwd: v1, env });
    expect(again.json).toMatchObject({ added: [], changed: [], removed: [], unchanged: ['a', 'b'] });

    const v2 = scheduleDir([
      { name: 'a', cron: '*/10 * * * *', job: { name: 'UpdateRaffleStatuses' } },
      {
        name: 'c',
        cron: '0 8 * * *',
        timezone: 'Europe/Berlin',
        job: { name: 'SendEmail', data: { template: 'new-inquiry', data: { name: 'Ann', email: 'ann@example.com', message: 'Weekly digest' } } },
      },
      // A job rqctl does not bundle, for another application's worker, on a queue of its own.
      { name: 'd', cron: '0 9 * * *', job: { name: 'BuildReport', queue: 'reports' } },
    ]);
    const r = await runCli(['schedule', 'sync', '--json'], { cwd: v2, env });
    expect(r.exitCode).toBe(0);
    expect(r.json.added.map((x: any) => [x.name, x.queue])).toEqual([
      ['c', 'emails'],
      ['d', 'reports'],
    ]);
    expect(r.stderr).toMatch(/no job type "BuildReport" is registered/);
    expect(r.json.changed).toHaveLength(1);
    expect(r.json.changed[0]).toMatchObject({ name: 'a', changes: ['cron: "*/5 * * * *" → "*/10 * * * *"'] });
    expect(r.json.removed.map((x: any) => x.name)).toEqual(['b']);

    const dflt = new Queue('default', { connection: redis, prefix });
    const emails = new Queue('emails', { connection: redis, prefix });
    expect((await dflt.getJobSchedulers()).map((s) => [s.key, s.pattern])).toEqual([['a', '*/10 * * * *']]);
    expect((await emails.getJobSchedulers()).map((s) => [s.key, s.pattern, s.tz])).toEqual([['c', '0 8 * * *', 'Europe/Berlin']]);
    // `b` is gone without a trace: no scheduler hash, no pending run.
    expect(await keysUnder(redis, `${prefix}:default:repeat:b`)).toEqual([]);
    expect((await redis.zrange(`${prefix}:default:delayed`, '0', '-1')).filter((id) => id.startsWith('repeat:b:'))).toEqual([]);
    // The pending run of `a` is the new pattern's (one, not two).
    expect((await redis.zrange(`${prefix}:default:delayed`, '0', '-1')).filter((id) => id.startsWith('repeat:a:'))).toHaveLength(1);

    await Promise.all([reports.close(), dflt.close(), emails.close()]);
  });
});
