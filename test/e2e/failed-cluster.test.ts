import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, Worker } from 'bullmq';
import { Cluster } from 'ioredis';
import { runCli } from '../helpers/cli.js';
import { RedisServer, freePort } from '../helpers/redis-server.js';

/** A cluster node's bus port is port + 10000, so its port must be ≤ 55535. */
async function clusterPort(): Promise<number> {
  for (;;) {
    const p = await freePort();
    if (p <= 55535) return p;
  }
}

/**
 * Failed jobs and queue operations on a real 3-node Redis Cluster: the queue prefix gets a hash tag,
 * so every key of a queue shares a slot and rqctl's pipelines and BullMQ's scripts work unchanged.
 */
describe('failed and queue commands on a Redis Cluster', () => {
  const servers: RedisServer[] = [];
  let env: Record<string, string>;
  let nodes: { host: string; port: number }[];
  const cli = (...args: string[]) => runCli(args, { env });
  const cluster = () => {
    const c = new Cluster(nodes, { redisOptions: { maxRetriesPerRequest: null } });
    c.on('error', () => {});
    return c;
  };

  beforeAll(async () => {
    for (let i = 0; i < 3; i++) {
      const port = await clusterPort();
      servers.push(
        await RedisServer.start({
          port,
          args: ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--maxmemory-policy', 'noeviction'],
        }),
      );
    }
    nodes = servers.map((s) => ({ host: '127.0.0.1', port: s.port }));
    execFileSync('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-yes'], { stdio: 'ignore', timeout: 30_000 });
    for (const n of nodes) {
      for (let i = 0; i < 100; i++) {
        if (/cluster_state:ok/.test(execFileSync('redis-cli', ['-p', String(n.port), 'cluster', 'info'], { encoding: 'utf8' }))) break;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    env = { REDIS_CLUSTER: 'true', REDIS_CLUSTER_NODES: nodes.map((n) => `127.0.0.1:${n.port}`).join(',') };

    const conn = cluster();
    const prefix = '{bull}';
    for (const name of ['default', 'emails']) {
      const q = new Queue(name, { connection: conn, prefix });
      await q.addBulk(
        Array.from({ length: 15 }, (_, i) => ({
          name: name === 'emails' ? 'SendEmail' : 'FetchStockData',
          data: { method: 'getStockQuote', i },
          opts: { attempts: 1 },
        })),
      );
      const wconn = cluster();
      const w = new Worker(
        name,
        async () => {
          throw new Error(`HTTP 500 in ${name}`);
        },
        { connection: wconn, prefix, concurrency: 15 },
      );
      w.on('error', () => {});
      for (let i = 0; i < 200 && (await q.getFailedCount()) < 15; i++) await new Promise((r) => setTimeout(r, 50));
      await w.close();
      wconn.disconnect();
      await q.close();
    }
    await conn.hset('{bull}:default:3', 'data', '{not json');
    conn.disconnect();
  }, 90_000);

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });

  it('lists, filters, retries, monitors and flushes', async () => {
    const list = await cli('failed', 'list', '--json');
    expect(list.exitCode).toBe(0);
    expect(list.json.total).toBe(29);
    expect(list.json.corrupt).toMatchObject([{ id: '3', queue: 'default' }]);
    expect((await cli('failed', 'list', '--json', '--name', 'SendEmail')).json.total).toBe(15);

    const ambiguous = await cli('failed', 'show', '5');
    expect(ambiguous.exitCode, ambiguous.stderr).toBe(2);

    const some = await cli('failed', 'retry', 'all', '--error', 'in emails', '--json');
    expect(some.json.retried).toBe(15);
    // The unfiltered bulk move leaves the corrupt job failed (issue 13 item 15).
    const all = await cli('failed', 'retry', 'all', '--queue', 'default', '--json');
    expect(all.json.retried).toBe(14);
    expect(all.json.corrupt).toMatchObject([{ id: '3', queue: 'default' }]);

    const status = await cli('queue', 'status', '--json');
    expect(status.json.queues.map((q: any) => [q.name, q.waiting, q.failed])).toEqual([
      ['default', 14, 1],
      ['emails', 15, 0],
    ]);
    const mon = await cli('queue', 'monitor', '--max-size', '10', '--once');
    expect(mon.exitCode, mon.stderr).toBe(4);

    const cleared = await cli('queue', 'clear', 'emails', '--yes', '--json');
    expect(cleared.json, cleared.stderr).toMatchObject({ removed: 15 });
    expect((await cli('failed', 'flush', '--yes', '--json')).json).toEqual({ removed: 1 });
  });
});
