import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer } from '../helpers/redis-server.js';
import { runCli } from '../helpers/cli.js';
import { CHAOS_JOBS, startWorker, tally, waitFor, type WorkerProcess } from '../helpers/chaos.js';

/**
 * docs/reliability.md: a worker SIGKILLed mid-job (the job is recovered as stalled and completes, its effect
 * applied once) and a worker told SIGTERM mid-job (it finishes the job and exits 0). The workers run
 * with short lock/stall settings (2 s / 1 s, rqctl.config.yaml) so recovery takes seconds.
 */
describe('a worker killed or stopped in the middle of a job', () => {
  let server: RedisServer;
  let env: Record<string, string>;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    server = await RedisServer.start({ args: ['--maxmemory-policy', 'noeviction'] });
    env = { REDIS_URL: server.url(), RQCTL_EXTRA_JOBS: CHAOS_JOBS };
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop('SIGKILL')));
  });
  afterAll(async () => {
    await server?.stop();
  });

  async function dispatch(job: string, data: Record<string, unknown>): Promise<string> {
    const r = await runCli(['dispatch', job, '--data', JSON.stringify(data), '--json'], { env });
    expect(r.exitCode, r.stderr).toBe(0);
    return r.json.id as string;
  }

  const jobHash = async (id: string) => {
    const c = server.client();
    try {
      return await c.hgetall(`bull:chaos:${id}`);
    } finally {
      c.disconnect();
    }
  };
  const inSet = async (set: 'completed' | 'failed' | 'active', id: string) => {
    const c = server.client();
    try {
      if (set === 'active') return (await c.lrange('bull:chaos:active', 0, -1)).includes(id);
      return (await c.zscore(`bull:chaos:${set}`, id)) !== null;
    } finally {
      c.disconnect();
    }
  };
  const counts = async (tag: string) => {
    const c = server.client();
    try {
      return await tally(c, tag);
    } finally {
      c.disconnect();
    }
  };

  it('SIGKILL mid-job: the job is recovered as stalled by another worker and completes once', async () => {
    const a = await startWorker(env);
    workers.push(a);
    const id = await dispatch('ChaosWork', { tag: 'kill', ms: 4000 });
    await waitFor('the job to start', async () => (await counts('kill')).runs[id] === 1);
    await a.stop('SIGKILL');
    expect(await inSet('active', id)).toBe(true);

    const b = await startWorker(env);
    workers.push(b);
    await waitFor('the job to complete', () => inSet('completed', id), 40_000);
    const { runs, effects } = await counts('kill');
    expect(runs[id]).toBe(2);
    expect(effects[id]).toBe(1);
    expect(await inSet('failed', id)).toBe(false);
    expect(JSON.parse((await jobHash(id)).returnvalue)).toEqual({ id });
    // Recovered as stalled (not retried as failed): BullMQ counted a stall, and the worker said so.
    expect(b.events().some((e) => e.event === 'stalled' && String(e.id) === id)).toBe(true);
    expect(Number((await jobHash(id)).stc ?? 0)).toBeGreaterThanOrEqual(1);
    expect(await b.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  });

  it('SIGTERM mid-job: the worker takes nothing new, finishes the job and exits 0', async () => {
    const a = await startWorker(env, ['--concurrency', '1']);
    workers.push(a);
    const id = await dispatch('ChaosWork', { tag: 'term', ms: 2500 });
    await waitFor('the job to start', async () => (await counts('term')).runs[id] === 1);
    a.child.kill('SIGTERM');
    await a.waitForEvent((e) => e.event === 'stopping');
    // Dispatched after the signal: must stay waiting for the next worker.
    const later = await dispatch('ChaosWork', { tag: 'term', ms: 0 });
    expect(await a.exited).toEqual({ code: 0, signal: null });
    expect(await inSet('completed', id)).toBe(true);
    const { runs, effects } = await counts('term');
    expect(runs[id]).toBe(1);
    expect(effects[id]).toBe(1);
    expect(runs[later]).toBeUndefined();
    const processed = a.events().findIndex((e) => e.event === 'processed' && String(e.id) === id);
    const stopping = a.events().findIndex((e) => e.event === 'stopping');
    expect(processed).toBeGreaterThan(stopping);
    expect(a.events().at(-1)).toMatchObject({ event: 'stopped', exitCode: 0 });
  });
});
