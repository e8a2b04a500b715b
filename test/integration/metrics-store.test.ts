import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { evaluateAlerts } from '../../src/alerts/evaluate.js';
import { CounterStore } from '../../src/metrics/counter-store.js';
import { readCounters, recentCounts } from '../../src/metrics/counters-read.js';
import { jobEnv, type JobEnv } from '../helpers/job-env.js';

const plain = inject('plainRedisUrl');
const envs: JobEnv[] = [];
const clients: Redis[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.disconnect();
  for (const e of envs.splice(0)) await e.cleanup();
});

async function setup(file?: Record<string, unknown>) {
  const env = await jobEnv(plain, { label: 'store', file });
  envs.push(env);
  const u = new URL(plain);
  const client = new Redis({ host: u.hostname, port: Number(u.port), maxRetriesPerRequest: null, lazyConnect: true });
  client.on('error', () => {});
  await client.connect();
  clients.push(client);
  return { env, client, prefix: env.config.queue.prefix };
}

describe('the workers’ counter store', () => {
  it('adds up across stores (workers) in one hash, names outside the registry as other, per-minute counts for the alerts', async () => {
    const { env, client, prefix } = await setup();
    const stores = [1, 2].map(() => new CounterStore({ client, queuePrefix: prefix, queues: ['default'], jobNames: ['Known'] }));
    for (const s of stores) {
      for (let i = 0; i < 10; i++) s.completed('default', 'Known', 30, 2000);
      s.failed('default', 'Known', 7000, undefined);
      s.failed('default', 'Stranger', undefined, undefined);
      s.providerRequest('finnhub', '429');
    }
    // Nothing reaches Redis before a flush: counting a job is memory only.
    expect(await env.queueDb.exists(`${prefix}:rqctl:metrics:counters`)).toBe(0);
    await Promise.all(stores.map((s) => s.close()));

    const totals = await readCounters(env.queueDb, prefix);
    const known = totals.jobs.find((j) => j.name === 'Known')!;
    expect(known).toMatchObject({ queue: 'default', completed: 20, failed: 2 });
    expect(known.duration.count).toBe(22);
    expect(known.duration.sumSeconds).toBeCloseTo(20 * 0.03 + 2 * 7, 6);
    // 30 ms falls in the 0.05 s bucket, 7 s in the 10 s bucket.
    expect(known.duration.buckets[3]).toBe(20);
    expect(known.duration.buckets[10]).toBe(2);
    expect(known.wait.count).toBe(20);
    expect(totals.jobs.find((j) => j.name === 'other')).toMatchObject({ failed: 2, completed: 0 });
    expect(totals.providers).toEqual([{ provider: 'finnhub', status: '429', requests: 2 }]);
    expect(await env.queueDb.hget(`${prefix}:rqctl:metrics:counters`, 'c:default:Known')).toBe('20');

    const recent = await recentCounts(env.queueDb, prefix, 5);
    expect(recent.get('default')).toEqual({ completed: 20, failed: 4 });
    const minuteKey = (await env.queueDb.keys(`${prefix}:rqctl:metrics:minute:*`))[0];
    const ttl = await env.queueDb.ttl(minuteKey);
    expect(ttl).toBeGreaterThan(7000);
    expect(ttl).toBeLessThanOrEqual(7200);
  });

  it('keeps the counts of a flush that failed and sends them with the next one', async () => {
    const { env, client, prefix } = await setup();
    const errors: string[] = [];
    const store = new CounterStore({ client, queuePrefix: prefix, queues: ['q'], jobNames: ['J'], onError: (e) => errors.push(e.message) });
    store.completed('q', 'J', 1, 1);
    client.disconnect();
    await store.flush();
    expect(errors.length).toBe(1);
    await client.connect();
    store.completed('q', 'J', 1, 1);
    await store.flush();
    expect(await env.queueDb.hget(`${prefix}:rqctl:metrics:counters`, 'c:q:J')).toBe('2');
    await store.close();
  });

  it('feeds failedPer5m: the alert fires over its threshold, per queue', async () => {
    const { env, client, prefix } = await setup({ alerts: { rules: [{ name: 'fails', failedPer5m: 3 }] } });
    const store = new CounterStore({ client, queuePrefix: prefix, queues: ['default', 'emails'], jobNames: ['J'] });
    for (let i = 0; i < 4; i++) store.failed('default', 'J', 1, 1);
    store.failed('emails', 'J', 1, 1);
    await store.close();
    const results = await evaluateAlerts(env.config, { queue: client }, { strict: true });
    expect(results.find((r) => r.name === 'fails:default')).toMatchObject({ state: 'firing', value: 4, threshold: 3, queue: 'default' });
    expect(results.find((r) => r.name === 'fails:emails')).toMatchObject({ state: 'ok', value: 1 });
  });
});
