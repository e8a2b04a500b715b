import { afterAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/resolve.js';
import { dispatchBulk } from '../../src/jobs/dispatch.js';
import { findJobType, registerJobType } from '../../src/jobs/registry.js';
import { runCli, tempCwd } from '../helpers/cli.js';
import { CHAOS_JOBS, startWorker, tally, waitFor, type WorkerProcess } from '../helpers/chaos.js';
import { RedisServer } from '../helpers/redis-server.js';
import { Sentinel } from '../helpers/sentinel.js';

/**
 * docs/reliability.md: users who outgrow one server run Sentinel. A master, a replica and three
 * Sentinels on 127.0.0.1; two workers busy through Sentinel (REDIS_SENTINELS); the master is
 * SIGKILLed mid-work. Sentinel promotes the replica, the same worker processes carry on against it,
 * every acknowledged job that the replica had received completes, its effect applied exactly once,
 * and `rqctl doctor` and `rqctl ping` name the new master. Replication is asynchronous: jobs
 * acknowledged by the old master in its last moments may never have reached the replica. The test
 * counts them and prints them, with how long processing stopped.
 */
const MASTER_NAME = 'rqctl-chaos';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Sentinel failover under busy workers', () => {
  const stops: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const s of stops.reverse()) await s().catch(() => {});
  });

  it('item 18: workers follow a Sentinel failover without a restart; acknowledged jobs that reached the replica complete exactly once', async () => {
    const master = await RedisServer.start({ args: ['--maxmemory-policy', 'noeviction', '--appendonly', 'yes'] });
    stops.push(() => master.stop());
    const replica = await RedisServer.start({
      args: ['--maxmemory-policy', 'noeviction', '--appendonly', 'yes', '--replicaof', '127.0.0.1', String(master.port)],
    });
    stops.push(() => replica.stop());
    await waitFor('the replica to sync', async () => {
      const c = replica.client();
      try {
        return /master_link_status:up/.test(await c.info('replication'));
      } finally {
        c.disconnect();
      }
    });
    const sentinels: Sentinel[] = [];
    for (let i = 0; i < 3; i++) {
      const s = await Sentinel.start({ masterName: MASTER_NAME, masterPort: master.port, quorum: 2, downAfterMs: 1000, failoverTimeoutMs: 10_000 });
      stops.push(() => s.stop());
      sentinels.push(s);
    }
    // Every Sentinel knows the replica and the other Sentinels before the fault.
    await waitFor('the Sentinels to discover each other and the replica', async () => {
      const c = sentinels[0].client();
      try {
        const [m] = (await c.call('SENTINEL', 'MASTERS')) as string[][];
        const f = Object.fromEntries(m.reduce<[string, string][]>((acc, v, i, a) => (i % 2 ? acc : [...acc, [v, a[i + 1]]]), []));
        return Number(f['num-slaves']) >= 1 && Number(f['num-other-sentinels']) >= 2;
      } finally {
        c.disconnect();
      }
    });

    const env = { REDIS_SENTINELS: sentinels.map((s) => `127.0.0.1:${s.port}`).join(','), REDIS_SENTINEL_MASTER: MASTER_NAME };
    const workers: WorkerProcess[] = [];
    for (let i = 0; i < 2; i++) {
      const w = await startWorker(env, ['--concurrency', '4']);
      stops.push(() => w.stop('SIGKILL'));
      workers.push(w);
    }
    const pids = workers.map((w) => w.pid);

    if (!findJobType('ChaosIdempotent')) for (const t of ((await import(CHAOS_JOBS)) as { default: any[] }).default) registerJobType(t);
    const config = resolveConfig({ env, cwd: tempCwd() });
    const dispatch = async (n: number) =>
      (
        await dispatchBulk(
          config,
          Array.from({ length: n }, () => ({ job: 'ChaosIdempotent', data: { tag: 'failover', ms: 15 } })),
        )
      ).map((r) => r.id);
    const before = await dispatch(600);
    await waitFor('a third of the jobs to be done', async () => {
      const c = master.client();
      try {
        return (await c.zcard('bull:chaos:completed')) >= 200;
      } finally {
        c.disconnect();
      }
    });

    // A producer keeps adding jobs up to the moment of the kill: what the master acknowledged in its
    // last moments may not have reached the replica yet.
    let producing = true;
    const streamed: string[] = [];
    const producer = (async () => {
      while (producing) {
        try {
          streamed.push(...(await dispatch(5)));
        } catch {
          /* the master is gone: not acknowledged */
        }
        await sleep(5);
      }
    })();
    await sleep(400);
    const killedAt = Date.now();
    await master.kill();
    producing = false;
    await producer;
    const newMaster = `127.0.0.1:${replica.port}`;
    await waitFor('Sentinel to promote the replica', async () => (await sentinels[0].master(MASTER_NAME)) === newMaster, 60_000, 100);
    const promotedAt = Date.now();
    // Producers go through Sentinel too: dispatching after the failover reaches the new master.
    const after = await dispatch(100);

    // What the new master knows: acknowledged jobs absent from it never reached the replica.
    const c = replica.client();
    stops.push(async () => c.disconnect());
    const acknowledged = [...before, ...streamed, ...after];
    const exists = await Promise.all(acknowledged.map((id) => c.exists(`bull:chaos:${id}`)));
    const survived = acknowledged.filter((_, i) => exists[i] === 1);
    const lost = acknowledged.length - survived.length;
    await waitFor(
      () => `${survived.length} surviving jobs to complete`,
      async () => {
        const failed = await c.zcard('bull:chaos:failed');
        if (failed)
          throw new Error(`${failed} jobs failed: ${await c.hget(`bull:chaos:${(await c.zrange('bull:chaos:failed', '0', '0'))[0]}`, 'failedReason')}`);
        const scores = await c.zmscore('bull:chaos:completed', ...survived);
        return scores.every((s) => s !== null);
      },
      60_000,
      200,
    );

    const { runs, effects } = await tally(c, 'failover');
    for (const id of survived) expect(effects[id], `job ${id}: effect count`).toBe(1);
    const ranTwice = survived.filter((id) => runs[id] > 1).length;

    // The same processes did it: nobody restarted them.
    expect(workers.map((w) => w.child.exitCode)).toEqual([null, null]);
    expect(workers.map((w) => w.pid)).toEqual(pids);
    const processedAfter = workers.flatMap((w) => w.events()).filter((e) => e.event === 'processed' && Date.parse(e.time) > killedAt);
    expect(processedAfter.length).toBeGreaterThan(0);
    for (const w of workers) expect(w.events().some((e) => e.event === 'processed' && Date.parse(e.time) > promotedAt)).toBe(true);
    // How long processing stopped: the longest pause between two completions across the kill.
    const times = workers
      .flatMap((w) => w.events())
      .filter((e) => e.event === 'processed')
      .map((e) => Date.parse(e.time))
      .sort((a, b) => a - b);
    let stoppedMs = 0;
    for (let i = 1; i < times.length; i++) if (times[i] > killedAt) stoppedMs = Math.max(stoppedMs, times[i] - times[i - 1]);

    const figures = {
      acknowledged: acknowledged.length,
      acknowledgedJustBeforeTheKill: streamed.length,
      lostToAsyncReplication: lost,
      completedExactlyOnce: survived.length,
      ranTwice,
      promotionMs: promotedAt - killedAt,
      processingStoppedMs: stoppedMs,
    };
    console.log(`[sentinel-failover] ${JSON.stringify(figures)}`);

    // doctor and ping name the new master.
    const ping = await runCli(['ping', '--json'], { env });
    expect(ping.exitCode, ping.stderr).toBe(0);
    for (const r of ping.json.roles) expect(r.master).toBe(newMaster);
    const doctor = await runCli(['doctor', '--json'], { env });
    const writable = doctor.json.checks.find((x: { id: string }) => x.id === 'writable');
    expect(writable, doctor.stdout).toMatchObject({ status: 'ok' });
    expect(writable.message).toContain(newMaster);

    // Asynchronous replication loses at most what the old master took in its last moments.
    expect(lost).toBeLessThan(acknowledged.length / 10);
    for (const w of workers) {
      const stopped = await w.stop();
      expect(stopped, w.output().slice(-2500)).toEqual({ code: 0, signal: null });
    }
  }, 120_000);
});
