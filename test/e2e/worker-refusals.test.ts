import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/resolve.js';
import { dispatchBulk } from '../../src/jobs/dispatch.js';
import { findJobType, registerJobType } from '../../src/jobs/registry.js';
import { tempCwd } from '../helpers/cli.js';
import { CHAOS_JOBS, startWorker, waitFor, type WorkerProcess } from '../helpers/chaos.js';
import { RedisServer } from '../helpers/redis-server.js';

/**
 * docs/worker.md: a worker whose server refuses its writes (a read-only replica: READONLY; an ACL
 * user without +eval: NOPERM) cannot take a single job. It must not idle on as RUNNING: after a
 * short bounded retry it exits 3, so supervisord (FATAL) and deploy's verify see it.
 */

async function replicaOf(master: RedisServer, extra: string[] = []): Promise<RedisServer> {
  const replica = await RedisServer.start({ args: ['--replicaof', '127.0.0.1', String(master.port), ...extra] });
  await waitFor('the replica to sync', async () => {
    const c = replica.client();
    try {
      return /master_link_status:up/.test(await c.info('replication'));
    } finally {
      c.disconnect();
    }
  });
  return replica;
}

describe('a worker whose writes are refused', () => {
  const stops: (() => Promise<unknown>)[] = [];
  const workers: WorkerProcess[] = [];
  let master: RedisServer;
  beforeAll(async () => {
    master = await RedisServer.start({ args: ['--maxmemory-policy', 'noeviction'] });
    stops.push(() => master.stop());
  });
  afterEach(async () => {
    for (const w of workers.splice(0)) await w.stop('SIGKILL').catch(() => {});
  });
  afterAll(async () => {
    for (const s of stops.reverse()) await s().catch(() => {});
  });
  const track = (w: WorkerProcess) => (workers.push(w), w);

  it('item 9: a worker on a read-only replica exits 3 (READONLY) instead of idling', async () => {
    const replica = await replicaOf(master);
    stops.push(() => replica.stop());
    const w = track(await startWorker({ REDIS_URL: replica.url() }));
    const exit = await waitFor('the worker to exit', () => Promise.race([w.exited, new Promise((r) => setTimeout(() => r(undefined), 200))]), 30_000);
    expect(exit, w.output().slice(-2000)).toEqual({ code: 3, signal: null });
    const stopped = w.events().find((e) => e.event === 'stopped');
    expect(stopped).toMatchObject({ reason: 'refused', exitCode: 3, level: 'error' });
    expect(stopped!.msg).toMatch(/read-only replica/);
    expect(stopped!.msg).toMatch(/READONLY/);
    // It said so once when it began, not once per refused command.
    expect(w.events().filter((e) => e.event === 'redis-refused')).toHaveLength(1);
  });

  it('item 9: --stop-when-empty on a read-only replica exits 3, not 0', async () => {
    const replica = await replicaOf(master);
    stops.push(() => replica.stop());
    const w = track(await startWorker({ REDIS_URL: replica.url() }, ['--stop-when-empty']));
    const exit = await waitFor('the worker to exit', () => Promise.race([w.exited, new Promise((r) => setTimeout(() => r(undefined), 200))]), 30_000);
    expect(exit, w.output().slice(-2000)).toEqual({ code: 3, signal: null });
    expect(w.events().find((e) => e.event === 'stopped')).toMatchObject({ reason: 'refused', exitCode: 3 });
  });

  it('item 9: a worker whose ACL user lacks +eval exits 3 (NOPERM)', async () => {
    const server = await RedisServer.start({ args: ['--maxmemory-policy', 'noeviction'] });
    stops.push(() => server.stop());
    const c = server.client();
    await c.call('ACL', 'SETUSER', 'noeval', 'on', '>noeval-pw', '~*', '&*', '+@all', '-eval', '-evalsha');
    c.disconnect();
    const w = track(await startWorker({ REDIS_URL: `redis://noeval:noeval-pw@127.0.0.1:${server.port}/0` }));
    const exit = await waitFor('the worker to exit', () => Promise.race([w.exited, new Promise((r) => setTimeout(() => r(undefined), 200))]), 30_000);
    expect(exit, w.output().slice(-2000)).toEqual({ code: 3, signal: null });
    const stopped = w.events().find((e) => e.event === 'stopped');
    expect(stopped).toMatchObject({ reason: 'refused', exitCode: 3 });
    expect(stopped!.msg).toMatch(/NOPERM/);
    expect(w.output()).not.toMatch(/noeval-pw/);
  });

  it('item 9: a refusal that ends within the retry (the server is demoted, then promoted again) does not stop the worker', async () => {
    // A running worker whose master is demoted (as in a failover) and comes back within the retry.
    const server = await RedisServer.start({ args: ['--maxmemory-policy', 'noeviction'] });
    stops.push(() => server.stop());
    const w = track(await startWorker({ REDIS_URL: server.url() }));
    if (!findJobType('ChaosIdempotent')) for (const t of ((await import(CHAOS_JOBS)) as { default: any[] }).default) registerJobType(t);
    const config = resolveConfig({ env: { REDIS_URL: server.url() }, cwd: tempCwd() });
    const [first] = await dispatchBulk(config, [{ job: 'ChaosIdempotent', data: { tag: 'demoted', ms: 0 } }]);
    await w.waitForEvent((e) => e.event === 'processed' && e.id === first.id, 30_000);
    // Past its start-up: a refusal now gets the full retry (a worker refused from its start gives up sooner).
    await new Promise((r) => setTimeout(r, 8_000));
    const c = server.client();
    stops.push(async () => c.disconnect());
    await c.call('REPLICAOF', '127.0.0.1', String(master.port));
    await w.waitForEvent((e) => e.event === 'redis-refused');
    await c.call('REPLICAOF', 'NO', 'ONE');
    await w.waitForEvent((e) => e.event === 'redis-writable');
    // The server now holds its master's data set (job ids start again): count the jobs processed.
    await dispatchBulk(config, [{ job: 'ChaosIdempotent', data: { tag: 'demoted', ms: 0 } }]);
    await waitFor('a job processed after the promotion', () => w.events().filter((e) => e.event === 'processed').length >= 2, 30_000);
    expect(w.child.exitCode).toBeNull();
    expect(await w.stop()).toEqual({ code: 0, signal: null });
  });
});
