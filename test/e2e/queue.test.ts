import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runCli, spawnCli, stopProcess, waitForOutput } from '../helpers/cli.js';
import { makeFixture, type Fixture } from '../helpers/failed-fixtures.js';
import { RedisServer } from '../helpers/redis-server.js';

const plain = inject('plainRedisUrl');

describe('queue status, pause, resume', () => {
  let fx: Fixture;
  const cli = (...args: string[]) => runCli(args, { env: fx.env });

  beforeAll(async () => {
    fx = await makeFixture(plain);
    const q = fx.queue('default');
    await q.addBulk(Array.from({ length: 4 }, (_, i) => ({ name: 'SendEmail', data: { i } })));
    await q.add('SendEmail', { later: true }, { delay: 3_600_000 });
    await q.add('SendEmail', { urgent: true }, { priority: 1 });
  });

  afterAll(async () => {
    await fx?.close();
  });

  it('counts per state (the documented --json shape), the default queues always listed', async () => {
    const r = await cli('queue', 'status', '--json');
    expect(r.exitCode).toBe(0);
    const byName = Object.fromEntries(r.json.queues.map((q: any) => [q.name, q]));
    expect(Object.keys(byName).sort()).toEqual(['default', 'emails']);
    expect(byName.default).toMatchObject({ waiting: 5, active: 0, delayed: 1, failed: 0, completed: 0, paused: 0, isPaused: false, prioritized: 1 });
    expect(byName.emails).toMatchObject({ waiting: 0, exists: false });
    const human = await cli('queue', 'status');
    expect(human.stdout).toMatch(/^queue\s+waiting\s+active\s+delayed\s+failed\s+completed\s+state/);
    expect(human.stdout).toMatch(/default\s+5\s+0\s+1\s+0\s+0\s+running/);
  });

  it('pause and resume: isPaused, the held jobs counted as paused; a typo is refused and not created', async () => {
    const p = await cli('queue', 'pause', 'default', '--json');
    expect(p.exitCode).toBe(0);
    expect(p.json).toEqual({ queue: 'default', paused: true, changed: true });
    expect(await fx.queue('default').isPaused()).toBe(true);
    const s = await cli('queue', 'status', '--queue', 'default', '--json');
    expect(s.json.queues[0]).toMatchObject({ name: 'default', isPaused: true, paused: 5, waiting: 5 });
    expect((await cli('queue', 'pause', 'default', '--json')).json.changed).toBe(false);
    const r = await cli('queue', 'resume', 'default', '--json');
    expect(r.json).toEqual({ queue: 'default', paused: false, changed: true });
    expect(await fx.queue('default').isPaused()).toBe(false);

    const typo = await cli('queue', 'pause', 'defualt');
    expect(typo.exitCode).toBe(2);
    expect(typo.stderr).toMatch(/no queue "defualt"/);
    const st = await cli('queue', 'status', '--queue', 'defualt', '--json');
    expect(st.json.queues[0]).toMatchObject({ name: 'defualt', exists: false });
    expect(st.stderr).toMatch(/no keys in Redis/);
    expect(await fx.redis.exists(`${fx.prefix}:defualt:meta`)).toBe(0);
  });
});

describe('queue clear', () => {
  let fx: Fixture;
  const cli = (...args: string[]) => runCli(args, { env: fx.env });

  beforeAll(async () => {
    fx = await makeFixture(plain);
    const q = fx.queue('default');
    await q.addBulk(Array.from({ length: 2500 }, (_, i) => ({ name: 'FetchStockData', data: { i } })));
    await q.addBulk(Array.from({ length: 30 }, (_, i) => ({ name: 'FetchStockData', data: { i }, opts: { delay: 600_000 } })));
    await q.add('FetchStockData', { p: 1 }, { priority: 5 });
    await q.upsertJobScheduler('refresh-stock-cache', { pattern: '*/15 * * * *' }, { name: 'RefreshStockCache', data: {} });
  });

  afterAll(async () => {
    await fx?.close();
  });

  it('refuses off a terminal without --yes, dry-runs, then removes waiting and delayed jobs but keeps the job scheduler', async () => {
    const q = fx.queue('default');
    const before = await q.getJobCounts('waiting', 'delayed', 'prioritized');
    expect(before).toMatchObject({ waiting: 2500, delayed: 31, prioritized: 1 });

    const refused = await cli('queue', 'clear', 'default');
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/refusing to remove .* without confirmation[\s\S]*--yes/);
    expect(await q.getWaitingCount()).toBe(2500);

    const dry = await cli('queue', 'clear', 'default', '--dry-run', '--json');
    expect(dry.json).toMatchObject({ removed: 2531, waiting: 2501, delayed: 30, dryRun: true });

    const r = await cli('queue', 'clear', 'default', '--yes', '--json');
    expect(r.exitCode).toBe(0);
    expect(r.json).toMatchObject({ removed: 2531, waiting: 2501, delayed: 30 });
    const after = await q.getJobCounts('waiting', 'delayed', 'prioritized');
    expect(after).toEqual({ waiting: 0, delayed: 1, prioritized: 0 });
    // The scheduler's next run is still there: the schedule goes on.
    const [next] = await q.getDelayed();
    expect(next.name).toBe('RefreshStockCache');
    expect(await q.getJobSchedulersCount()).toBe(1);
  });
});

describe('queue monitor', () => {
  let fx: Fixture;
  const cli = (...args: string[]) => runCli(args, { env: fx.env });

  beforeAll(async () => {
    fx = await makeFixture(plain);
    await fx.queue('default').addBulk(Array.from({ length: 20 }, (_, i) => ({ name: 'FetchStockData', data: { i } })));
  });

  afterAll(async () => {
    await fx?.close();
  });

  it('--max-size 5 --once exits 4 on 20 waiting jobs, 0 under the threshold', async () => {
    const over = await cli('queue', 'monitor', '--max-size', '5', '--once');
    expect(over.exitCode).toBe(4);
    expect(over.stdout).toMatch(/default\s+20\s/);
    expect(over.stderr).toMatch(/queue default: size 20 > 5/);

    const under = await cli('queue', 'monitor', '--max-size', '20', '--once', '--json');
    expect(under.exitCode).toBe(0);
    expect(under.json.ok).toBe(true);
    const d = under.json.queues.find((q: any) => q.name === 'default');
    expect(d).toMatchObject({ size: 20, waiting: 20, breaches: [] });
    expect(d.oldestWaitMs).toBeGreaterThanOrEqual(0);
  });

  it('--max-wait compares the oldest waiting job (added + delay) with the threshold', async () => {
    // Make the oldest waiting job look an hour old.
    const ids = await fx.redis.lrange(`${fx.prefix}:default:wait`, -1, -1);
    await fx.redis.hset(`${fx.prefix}:default:${ids[0]}`, 'timestamp', String(Date.now() - 3_600_000));
    const r = await cli('queue', 'monitor', '--max-wait', '10m', '--once', '--json');
    expect(r.exitCode).toBe(4);
    const d = r.json.queues.find((q: any) => q.name === 'default');
    expect(d.oldestJobId).toBe(ids[0]);
    expect(d.oldestWaitMs).toBeGreaterThanOrEqual(3_600_000);
    expect(d.breaches[0]).toMatch(/oldest wait/);
    expect((await cli('queue', 'monitor', '--max-wait', '2h', '--once')).exitCode).toBe(0);
  });

  it('without --once: JSON lines every interval, exit 4 at the first crossing', async () => {
    const child = spawnCli(['queue', 'monitor', '--max-size', '25', '--interval', '200ms', '--queue', 'default'], { env: fx.env });
    try {
      await waitForOutput(child, (all) => (all.match(/"size":20/g) ?? []).length >= 2);
      await fx.queue('default').addBulk(Array.from({ length: 10 }, (_, i) => ({ name: 'FetchStockData', data: { more: i } })));
      const exit = await new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      expect(exit).toBe(4);
    } finally {
      await stopProcess(child);
    }
  });

  it('without thresholds it watches until stopped', async () => {
    const child = spawnCli(['queue', 'monitor', '--interval', '200ms', '--queue', 'default'], { env: fx.env });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    await waitForOutput(child, () => out.split('\n').filter(Boolean).length >= 2);
    const line = JSON.parse(out.split('\n')[0]);
    expect(line).toMatchObject({ ok: true, queues: [{ name: 'default', size: 30 }] });
    const res = await stopProcess(child, 'SIGTERM');
    expect(res.code).toBe(0);
  });

  it('bad thresholds exit 2', async () => {
    expect((await cli('queue', 'monitor', '--max-size', 'lots', '--once')).exitCode).toBe(2);
    expect((await cli('queue', 'monitor', '--max-wait', 'forever', '--once')).exitCode).toBe(2);
  });
});

describe('queue monitor when Redis goes away', () => {
  it('exits 3 with one clear line, never reporting empty queues it cannot see', async () => {
    const server = await RedisServer.start();
    const child = spawnCli(['queue', 'monitor', '--interval', '200ms', '--json'], { env: { REDIS_URL: server.url() } });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (err += d));
    try {
      await waitForOutput(child, () => out.split('\n').filter(Boolean).length >= 2);
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      await server.kill();
      expect(await exited).toBe(3);
      expect(err).toMatch(/lost the connection to Redis/);
      for (const line of out.split('\n').filter(Boolean)) expect(JSON.parse(line).ok).toBe(true);
    } finally {
      await stopProcess(child);
      await server.stop();
    }
  });
});
