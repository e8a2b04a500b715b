import { afterEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/resolve.js';
import { dispatchBulk } from '../../src/jobs/dispatch.js';
import { findJobType, registerJobType } from '../../src/jobs/registry.js';
import { RedisServer } from '../helpers/redis-server.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { tempCwd } from '../helpers/cli.js';
import { CHAOS_JOBS, startWorker, tally, waitFor, type WorkerProcess } from '../helpers/chaos.js';

/**
 * docs/reliability.md: the queue's Redis goes away or stops answering while a worker is busy: kill -9 and a
 * restart from AOF, CLIENT KILL, a TCP link that resets, stalls or lags, and Redis itself stalling
 * longer than the job locks (DEBUG SLEEP). Every acknowledged job must complete, none may fail, and
 * each job's effect must be applied exactly once (the jobs are idempotent, like the bundled ones).
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function registerChaosJobs(): Promise<void> {
  if (findJobType('ChaosIdempotent')) return;
  const mod = (await import(CHAOS_JOBS)) as { default: Parameters<typeof registerJobType>[0][] };
  for (const t of mod.default) registerJobType(t);
}

/** Dispatches `n` ChaosIdempotent jobs straight to the server; resolves once Redis acknowledged them. */
async function dispatchMany(server: RedisServer, tag: string, n: number, ms: number): Promise<string[]> {
  await registerChaosJobs();
  const config = resolveConfig({ env: { REDIS_URL: server.url() }, cwd: tempCwd() });
  const res = await dispatchBulk(
    config,
    Array.from({ length: n }, () => ({ job: 'ChaosIdempotent', data: { tag, ms } })),
  );
  return res.map((r) => r.id);
}

/** Waits until every id is in the completed set; fails at once when a job lands in failed. */
async function allCompleted(server: RedisServer, ids: string[], timeoutMs = 60_000): Promise<void> {
  const outcome = await waitFor(
    `${ids.length} jobs to complete`,
    async () => {
      const c = server.client();
      try {
        const failed: string[] = await c.zrange('bull:chaos:failed', '0', '-1');
        if (failed.length) return { failed: `jobs failed: ${failed.join(', ')}: ${await c.hget(`bull:chaos:${failed[0]}`, 'failedReason')}` };
        const scores = await c.zmscore('bull:chaos:completed', ...ids);
        return scores.every((s) => s !== null) ? { failed: undefined } : undefined;
      } finally {
        c.disconnect();
      }
    },
    timeoutMs,
    200,
  );
  if (outcome?.failed) throw new Error(outcome.failed);
}

async function expectEffectsOnce(server: RedisServer, tag: string, ids: string[]): Promise<{ ranTwice: number }> {
  const c = server.client();
  try {
    const { runs, effects } = await tally(c, tag);
    for (const id of ids) {
      expect(effects[id], `job ${id}: effect count`).toBe(1);
      expect(runs[id], `job ${id}: runs`).toBeGreaterThanOrEqual(1);
    }
    expect(await c.zcard('bull:chaos:failed')).toBe(0);
    return { ranTwice: ids.filter((id) => runs[id] > 1).length };
  } finally {
    c.disconnect();
  }
}

describe('the queue server fails under a busy worker', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f().catch(() => {});
  });
  const track = <T extends { stop(): Promise<unknown> } | WorkerProcess>(x: T): T => {
    cleanup.push(() => (x as { stop(s?: string): Promise<unknown> }).stop('SIGKILL' as never));
    return x;
  };

  it('kill -9 and a restart with AOF everysec on the same dir: acknowledged jobs survive, the worker resumes', async () => {
    const server = await RedisServer.start({ args: ['--appendonly', 'yes', '--appendfsync', 'everysec', '--maxmemory-policy', 'noeviction'] });
    cleanup.push(() => server.stop());
    const worker = track(await startWorker({ REDIS_URL: server.url() }, ['--concurrency', '4']));
    const before = await dispatchMany(server, 'restart', 150, 30);
    await waitFor('some jobs to run', async () => {
      const c = server.client();
      try {
        return (await c.hlen('chaos:restart:runs')) >= 30;
      } finally {
        c.disconnect();
      }
    });
    await server.kill();
    await sleep(1000);
    await server.launch();
    const c = server.client();
    const waitingNow = await c.llen('bull:chaos:wait');
    c.disconnect();
    const after = await dispatchMany(server, 'restart', 50, 10);
    await allCompleted(server, [...before, ...after]);
    await expectEffectsOnce(server, 'restart', [...before, ...after]);
    // Jobs were still queued when Redis died, and the same worker process took them afterwards.
    expect(waitingNow).toBeGreaterThan(0);
    expect(worker.child.exitCode).toBeNull();
    expect(worker.events().some((e) => e.event === 'redis-down')).toBe(true);
    expect(await worker.stop()).toEqual({ code: 0, signal: null });
  });

  it('CLIENT KILL of every connection, again and again: all jobs complete once, the worker stays up', async () => {
    const server = await RedisServer.start({ args: ['--maxmemory-policy', 'noeviction'] });
    cleanup.push(() => server.stop());
    const worker = track(await startWorker({ REDIS_URL: server.url() }, ['--concurrency', '4']));
    const ids = await dispatchMany(server, 'kill', 150, 20);
    let killed = 0;
    for (let i = 0; i < 5; i++) {
      await sleep(400);
      const c = server.client();
      killed += Number(await c.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes'));
      c.disconnect();
    }
    expect(killed).toBeGreaterThanOrEqual(5);
    await allCompleted(server, ids);
    await expectEffectsOnce(server, 'kill', ids);
    expect(worker.child.exitCode).toBeNull();
    const stopped = await worker.stop('SIGTERM', 40_000);
    expect(stopped, worker.output().slice(-3000)).toEqual({ code: 0, signal: null });
  });

  it('a TCP link that resets, stalls past the lock, and lags: all jobs complete, effects once', async () => {
    const server = await RedisServer.start({ args: ['--maxmemory-policy', 'noeviction'] });
    cleanup.push(() => server.stop());
    const proxy = await TcpProxy.start({ port: server.port });
    cleanup.push(() => proxy.close());
    const worker = track(await startWorker({ REDIS_URL: proxy.url() }, ['--concurrency', '4']));
    const ids = await dispatchMany(server, 'link', 120, 50);

    await sleep(500);
    expect(proxy.reset()).toBeGreaterThan(0);
    await sleep(800);
    expect(proxy.reset()).toBeGreaterThan(0);
    await sleep(800);
    // Longer than the 2 s lock: running jobs lose their locks and may run twice; effects stay single.
    proxy.stall();
    await sleep(3500);
    proxy.resume();
    proxy.delay(20);
    await allCompleted(server, ids);
    proxy.delay(0);
    await expectEffectsOnce(server, 'link', ids);
    expect(worker.child.exitCode).toBeNull();
    expect(proxy.accepted).toBeGreaterThan(3);
    expect(await worker.stop()).toEqual({ code: 0, signal: null });
  });

  it('Redis stalls longer than the lock (DEBUG SLEEP): jobs run again elsewhere, effects stay single', async () => {
    const server = await RedisServer.start({ args: ['--maxmemory-policy', 'noeviction', '--enable-debug-command', 'local'] });
    cleanup.push(() => server.stop());
    const a = track(await startWorker({ REDIS_URL: server.url() }, ['--concurrency', '5']));
    const b = track(await startWorker({ REDIS_URL: server.url() }, ['--concurrency', '5']));
    const ids = await dispatchMany(server, 'sleep', 60, 1500);
    await waitFor('jobs to be running', async () => {
      const c = server.client();
      try {
        return (await c.llen('bull:chaos:active')) >= 5;
      } finally {
        c.disconnect();
      }
    });
    const c = server.client();
    // 4 s without an answer: every running job's 2 s lock lapses meanwhile.
    await c.call('DEBUG', 'SLEEP', '4');
    c.disconnect();
    await allCompleted(server, ids, 90_000);
    const { ranTwice } = await expectEffectsOnce(server, 'sleep', ids);
    // The fault bit: locks lapsed (a worker saw it, or a job was found stalled and ran again).
    const events = [...a.events(), ...b.events()];
    const lapsed = events.filter((e) => e.event === 'stalled' || e.event === 'lock-lost').length;
    expect(ranTwice + lapsed).toBeGreaterThan(0);
    expect(await a.stop()).toEqual({ code: 0, signal: null });
    expect(await b.stop()).toEqual({ code: 0, signal: null });
  });
});
