import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import '../../src/jobs/index.js';
import { dispatchBulk } from '../../src/jobs/dispatch.js';
import { isRqctlError } from '../../src/errors.js';
import { jobEnv, type JobEnv } from '../helpers/job-env.js';

const redisUrl = inject('plainRedisUrl');

describe('dispatchBulk', () => {
  let env: JobEnv;
  beforeEach(async () => {
    env = await jobEnv(redisUrl, { label: 'bulk' });
  });
  afterEach(async () => {
    await env?.cleanup();
  });
  const prefix = () => `rq-${env.id}`;

  it('enqueues every job with rqctl options, the fetch key, on the right queues', async () => {
    const items = [
      ...Array.from({ length: 2500 }, (_, i) => ({ job: 'FetchStockData', data: { method: 'getStockQuote', params: { symbol: `S${i}` } } })),
      { job: 'SendEmail', data: { template: 'new-inquiry', data: { name: 'Ann', email: 'ann@example.com', message: 'Hi' } }, tries: 5 },
    ];
    const res = await dispatchBulk(env.config, items);
    expect(res).toHaveLength(items.length);
    expect(new Set(res.map((r) => `${r.queue}:${r.id}`)).size).toBe(items.length);
    expect(res[0]).toMatchObject({ queue: 'default', name: 'FetchStockData' });
    expect(res[0].key).toMatch(/stock_quote_[0-9a-f]{32}$/);
    expect(res.at(-1)).toMatchObject({ queue: 'emails', name: 'SendEmail' });
    expect(await env.queueDb.llen(`${prefix()}:default:wait`)).toBe(2500);
    expect(await env.queueDb.llen(`${prefix()}:emails:wait`)).toBe(1);
    const opts = JSON.parse((await env.queueDb.hget(`${prefix()}:default:${res[0].id}`, 'opts'))!);
    expect(opts).toMatchObject({ attempts: 3, backoff: { type: 'fixed', delay: 60_000 } });
    const mail = JSON.parse((await env.queueDb.hget(`${prefix()}:emails:${res.at(-1)!.id}`, 'opts'))!);
    expect(mail.attempts).toBe(5);
  });

  it('one invalid payload refuses the whole batch: exit 2, nothing enqueued', async () => {
    const items = [
      { job: 'FetchStockData', data: { method: 'getStockQuote', params: { symbol: 'AAPL' } } },
      { job: 'FetchStockData', data: { method: 'getStockQuote', params: {} } },
    ];
    const err = await dispatchBulk(env.config, items).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isRqctlError(err) && err.exitCode).toBe(2);
    expect(String((err as Error).message)).toMatch(/item 2: invalid payload for FetchStockData.*symbol.*nothing was enqueued/);
    expect(await env.queueDb.exists(`${prefix()}:default:wait`, `${prefix()}:default:id`)).toBe(0);
  });
});
