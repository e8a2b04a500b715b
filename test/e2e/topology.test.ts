import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { RedisServer, freePort } from '../helpers/redis-server.js';

/** A port for a cluster node: its bus port (port + 10000) must be free and valid too. */
async function freeClusterPort(): Promise<number> {
  const { createServer } = await import('node:net');
  for (;;) {
    const port = await freePort();
    if (port + 10000 > 65535) continue;
    const busFree = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port + 10000, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (busFree) return port;
  }
}

/** Cluster and Sentinel, for real: three cluster masters, and a master watched by one Sentinel. */
describe('topologies', () => {
  const servers: RedisServer[] = [];
  let clusterPorts: number[] = [];
  let standalone: RedisServer;
  let lonelyClusterNode: RedisServer;
  let sentinelPort: number;
  let master: RedisServer;

  beforeAll(async () => {
    const nodes = await Promise.all(
      [0, 1, 2].map(async () => {
        const port = await freeClusterPort();
        return RedisServer.start({
          port,
          args: ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--maxmemory-policy', 'noeviction'],
        });
      }),
    );
    servers.push(...nodes);
    clusterPorts = nodes.map((n) => n.port);
    execFileSync('redis-cli', ['--cluster', 'create', ...clusterPorts.map((p) => `127.0.0.1:${p}`), '--cluster-yes'], { stdio: 'ignore', timeout: 30_000 });
    // Wait until every node reports the cluster as ok.
    for (const n of nodes) {
      let ok = false;
      for (let i = 0; i < 300 && !ok; i++) {
        ok = /cluster_state:ok/.test(execFileSync('redis-cli', ['-p', String(n.port), 'cluster', 'info'], { encoding: 'utf8' }));
        if (!ok) await new Promise((r) => setTimeout(r, 100));
      }
      if (!ok) throw new Error(`cluster node ${n.port} never reported cluster_state:ok`);
    }
    standalone = await RedisServer.start();
    const lonelyPort = await freeClusterPort();
    lonelyClusterNode = await RedisServer.start({ port: lonelyPort, args: ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${lonelyPort}.conf`] });
    master = await RedisServer.start({ args: ['--maxmemory-policy', 'noeviction'] });
    servers.push(standalone, lonelyClusterNode, master);
    sentinelPort = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'rqctl-sentinel-'));
    const conf = join(dir, 'sentinel.conf');
    writeFileSync(conf, `port ${sentinelPort}\nbind 127.0.0.1\nsentinel monitor mymaster 127.0.0.1 ${master.port} 1\n`);
    // A Sentinel rewrites its config file, so it gets one of its own (RedisServer starts from flags).
    const proc = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
    servers.push({
      stop: async () => {
        proc.kill('SIGTERM');
        await new Promise((r) => proc.once('exit', r));
      },
    } as unknown as RedisServer);
    for (let i = 0; i < 100; i++) {
      try {
        if (
          execFileSync('redis-cli', ['-p', String(sentinelPort), 'sentinel', 'get-master-addr-by-name', 'mymaster'], {
            encoding: 'utf8',
            stdio: ['ignore', 'pipe', 'ignore'],
          }).includes(String(master.port))
        )
          break;
      } catch {}
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 60_000);

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });

  it('pings every role of a real 3-node cluster (REDIS_CLUSTER=true)', async () => {
    // A generous connect timeout: on a loaded 2-core machine a cluster handshake (slots refresh on every node) can be slow.
    const r = await runCli(['ping', '--json'], {
      env: { REDIS_CLUSTER: 'true', REDIS_CONNECT_TIMEOUT: '20000', REDIS_CLUSTER_NODES: clusterPorts.map((p) => `127.0.0.1:${p}`).join(',') },
      timeoutMs: 60_000,
    });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.json.roles.every((x: any) => x.ok && x.url.startsWith('cluster://'))).toBe(true);
  });

  it('a cluster node without REDIS_CLUSTER is a clear usage error (exit 2)', async () => {
    const r = await runCli(['ping'], { env: { REDIS_URL: `redis://127.0.0.1:${clusterPorts[0]}` } });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('is a Redis Cluster node, but REDIS_CLUSTER is not set');
  });

  it('REDIS_CLUSTER=true against a standalone server is a clear usage error (exit 2)', async () => {
    const r = await runCli(['ping'], { env: { REDIS_CLUSTER: 'true', REDIS_URL: standalone.url() } });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('is a standalone server, but REDIS_CLUSTER=true');
  });

  it('a cluster that serves no slots says so (exit 3)', async () => {
    const r = await runCli(['ping'], { env: { REDIS_CLUSTER: 'true', REDIS_URL: lonelyClusterNode.url(), REDIS_CONNECT_TIMEOUT: '1000' } });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('is not serving (cluster_state:fail)');
  });

  it('connects through Sentinel to the master it names', async () => {
    const r = await runCli(['ping', '--json'], { env: { REDIS_SENTINELS: `127.0.0.1:${sentinelPort}`, REDIS_SENTINEL_MASTER: 'mymaster' } });
    expect(r.exitCode).toBe(0);
    expect(r.json.roles.every((x: any) => x.ok)).toBe(true);
    expect(r.json.roles[0].url).toBe(`sentinel://127.0.0.1:${sentinelPort}/mymaster/0`);
  });

  it('an unknown Sentinel master name fails with exit 3', async () => {
    const r = await runCli(['ping'], { env: { REDIS_SENTINELS: `127.0.0.1:${sentinelPort}`, REDIS_SENTINEL_MASTER: 'nosuch', REDIS_CONNECT_TIMEOUT: '1500' } });
    expect(r.exitCode).toBe(3);
    expect(r.stderr.split('\n')[0]).toMatch(/^error: Sentinel master "nosuch"/);
  });
});

describe('DB selection is confirmed after connecting', () => {
  it('a server with fewer databases is refused (ioredis would silently use DB 0)', async () => {
    const small = await RedisServer.start({ args: ['--databases', '2'] });
    try {
      const r = await runCli(['ping', '--json'], { env: { REDIS_URL: small.url(0) } });
      expect(r.exitCode).toBe(2);
      expect(r.json.roles.map((x: any) => x.ok)).toEqual([true, true, false]);
      expect(r.stderr).toContain('could not select DB 2');
    } finally {
      await small.stop();
    }
  });
});
