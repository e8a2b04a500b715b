import { Queue, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { startCluster, type TestCluster } from '../helpers/redis-cluster.js';

/**
 * `jobs find` and `jobs show` on a real 3-node Redis Cluster: the queue prefix carries a hash tag
 * (`{bull}`), so every key of a queue shares a slot, and the walker's pipelines and BullMQ's scripts
 * (with rqctl's state check in front of removeJob) run unchanged.
 */
describe('jobs find on a Redis Cluster', () => {
  let cluster: TestCluster;
  const cli = (...args: string[]) => runCli(args, { env: cluster.env });
  const symbols = ['AAPL', 'MSFT', 'BAD'];

  beforeAll(async () => {
    cluster = await startCluster();
    const conn = cluster.client();
    const q = new Queue('default', { connection: conn, prefix: '{bull}' });
    const job = (i: number) => ({ name: 'FetchStockData', data: { method: 'getStockQuote', params: { symbol: symbols[i % 3] } }, opts: { attempts: 1 } });
    await q.addBulk(Array.from({ length: 30 }, (_, i) => job(i)));
    const wconn = cluster.client();
    const w = new Worker(
      'default',
      async (j) => {
        if (j.data.params.symbol === 'BAD') throw new Error('HTTP 500');
        return { c: 1 };
      },
      { connection: wconn, prefix: '{bull}', concurrency: 10 },
    );
    w.on('error', () => {});
    for (let i = 0; i < 200 && (await q.getFailedCount()) + (await q.getCompletedCount()) < 30; i++) await new Promise((r) => setTimeout(r, 50));
    await w.close();
    wconn.disconnect();
    await q.addBulk(Array.from({ length: 9 }, (_, i) => job(i)));
    await q.addBulk(Array.from({ length: 9 }, (_, i) => ({ ...job(i), opts: { delay: 3_600_000 } })));
    await q.addBulk(Array.from({ length: 9 }, (_, i) => ({ ...job(i), opts: { priority: 3 } })));
    await q.close();
    conn.disconnect();
  }, 90_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('finds in every state, shows, removes the delayed matches and retries the failed ones', async () => {
    const aapl = await cli('jobs', 'find', '--where', 'params.symbol=AAPL', '--json');
    expect(aapl.exitCode, aapl.stderr).toBe(0);
    const byState = (jobs: any[]) => jobs.reduce((m: Record<string, number>, j: any) => ({ ...m, [j.state]: (m[j.state] ?? 0) + 1 }), {});
    expect(byState(aapl.json.jobs)).toEqual({ completed: 10, waiting: 3, delayed: 3, prioritized: 3 });
    expect(aapl.json.total).toBe(19);

    const one = aapl.json.jobs.find((j: any) => j.state === 'completed');
    expect((await cli('jobs', 'show', one.id, '--json')).json).toMatchObject({ id: one.id, state: 'completed', returnvalue: { c: 1 } });

    const removed = await cli('jobs', 'find', '--state', 'delayed', '--where', 'params.symbol=MSFT', '--remove', '--yes', '--json');
    expect(removed.json).toMatchObject({ total: 3, removed: 3 });
    const retried = await cli('jobs', 'find', '--where', 'params.symbol=BAD', '--retry', '--json');
    expect(retried.json).toMatchObject({ total: 10, retried: 10 });

    const status = await cli('queue', 'status', '--queue', 'default', '--json');
    expect(status.json.queues[0]).toMatchObject({ failed: 0, delayed: 6, completed: 20 });
    expect(status.json.queues[0].waiting).toBe(9 + 9 + 10);
  });
});
