import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { freePort, RedisServer } from '../helpers/redis-server.js';

/**
 * A three-master Redis Cluster of the test's own: `keys` and `cache clear` must cover every master,
 * and multi-key commands must not trip over CROSSSLOT.
 */
const PASSWORD = 'inspect-cluster-pw';
const servers: RedisServer[] = [];
let cluster: Cluster;
let env: Record<string, string>;

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A free port whose cluster bus port (+10000) is free too. */
async function clusterPort(taken: number[]): Promise<number> {
  for (;;) {
    const p = await freePort();
    if (p + 10000 < 65536 && !taken.includes(p) && (await portFree(p + 10000))) return p;
  }
}

async function scanAll(pattern: string): Promise<number> {
  let n = 0;
  for (const node of cluster.nodes('master')) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      n += keys.length;
    } while (cursor !== '0');
  }
  return n;
}

beforeAll(async () => {
  const ports: number[] = [];
  for (let i = 0; i < 3; i++) ports.push(await clusterPort(ports));
  for (const port of ports)
    servers.push(
      await RedisServer.start({
        port,
        password: PASSWORD,
        args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '5000'],
      }),
    );
  const create = spawnSync(
    'redis-cli',
    ['-a', PASSWORD, '--no-auth-warning', '--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'],
    { timeout: 30_000 },
  );
  if (create.status !== 0) throw new Error(`cluster create failed: ${create.stdout}${create.stderr}`);
  for (const s of servers) {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const c = s.client();
      const info = String(await c.cluster('INFO'));
      c.disconnect();
      if (info.includes('cluster_state:ok')) break;
      if (Date.now() > deadline) throw new Error('cluster never became ok');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  cluster = new Cluster([{ host: '127.0.0.1', port: ports[0] }], { redisOptions: { password: PASSWORD } });
  cluster.on('error', () => {});
  for (let i = 0; i < 3000; i++) await cluster.set(`stock_quote_${i}`, 'q', 'EX', 1200);
  for (let i = 0; i < 500; i++) await cluster.set(`crypto_list_${i}`, 'c', 'EX', 1200);
  await cluster.set(Buffer.from([0x62, 0xff, 0xfe]), 'binary');
  await cluster.set('bull:default:1', 'job');
  env = { REDIS_URL: `redis://127.0.0.1:${ports[0]}`, REDIS_CLUSTER: 'true', REDIS_PASSWORD: PASSWORD };
}, 120_000);

afterAll(async () => {
  cluster?.disconnect();
  await Promise.all(servers.map((s) => s.stop()));
});

describe('inspection on a Redis Cluster', () => {
  it('keys scans every master: the count equals the sum of DBSIZE, binary names escaped', async () => {
    const masters = cluster.nodes('master');
    expect(masters).toHaveLength(3);
    const sizes = await Promise.all(masters.map((m) => m.dbsize()));
    expect(sizes.every((n) => n > 0)).toBe(true);
    const r = await runCli(['keys'], { env, timeoutMs: 60_000 });
    expect(r.exitCode).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.length).toBe(sizes.reduce((a, b) => a + b, 0));
    expect(lines).toContain('b\\xff\\xfe');
    const json = await runCli(['keys', 'crypto_list_1*', '--json'], { env });
    expect(
      json.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).type),
    ).toEqual(Array(111).fill('string'));
  });

  it('cache clear --prefix deletes those keys on every master, nothing else (no CROSSSLOT)', async () => {
    const r = await runCli(['cache', 'clear', '--prefix', 'stock_quote_', '--yes', '--json'], { env, timeoutMs: 60_000 });
    expect(r.exitCode).toBe(0);
    expect(r.json.deleted).toBe(3000);
    expect(await scanAll('stock_quote_*')).toBe(0);
    expect(await scanAll('crypto_list_*')).toBe(500);
    expect(await cluster.get('bull:default:1')).toBe('job');
  });

  it('refuses a whole-cluster clear without CACHE_PREFIX (the queue lives there too)', async () => {
    const r = await runCli(['cache', 'clear', '--yes'], { env });
    expect(r.exitCode).toBe(2);
    expect(await cluster.get('bull:default:1')).toBe('job');
  });

  it('cache get / forget and stats work through the cluster', async () => {
    const get = await runCli(['cache', 'get', 'crypto_list_7'], { env });
    expect(get.stdout).toBe('c');
    const forget = await runCli(['cache', 'forget', 'crypto_list_7', 'crypto_list_8', 'b\\xff\\xfe', '--json'], { env });
    expect(forget.json.forgotten).toBe(3);
    const stats = await runCli(['stats', '--role', 'cache', '--json'], { env });
    expect(stats.json.roles[0].nodes).toBe(3);
    const cs = await runCli(['cache', 'stats', '--json'], { env });
    expect(cs.json.families.find((f: any) => f.family === 'crypto_list').keys).toBe(498);
  });
});
