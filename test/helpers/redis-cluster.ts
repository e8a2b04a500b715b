import { execFileSync } from 'node:child_process';
import { Cluster } from 'ioredis';
import { RedisServer, freePort } from './redis-server.js';

/** A cluster node's bus port is port + 10000, so its port must be ≤ 55535. */
async function clusterPort(): Promise<number> {
  for (;;) {
    const p = await freePort();
    if (p <= 55535) return p;
  }
}

export interface TestCluster {
  nodes: { host: string; port: number }[];
  /** REDIS_CLUSTER and REDIS_CLUSTER_NODES for the CLI. */
  env: Record<string, string>;
  /** A client of the cluster (the caller disconnects it). */
  client(): Cluster;
  stop(): Promise<void>;
}

/** A real 3-master Redis Cluster on 127.0.0.1 and free ports, created with `redis-cli --cluster create`, stopped by PID. */
export async function startCluster(): Promise<TestCluster> {
  const servers: RedisServer[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const port = await clusterPort();
      servers.push(
        await RedisServer.start({
          port,
          args: ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--maxmemory-policy', 'noeviction'],
        }),
      );
    }
    const nodes = servers.map((s) => ({ host: '127.0.0.1', port: s.port }));
    execFileSync('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-yes'], { stdio: 'ignore', timeout: 30_000 });
    for (const n of nodes) {
      for (let i = 0; i < 100; i++) {
        if (/cluster_state:ok/.test(execFileSync('redis-cli', ['-p', String(n.port), 'cluster', 'info'], { encoding: 'utf8' }))) break;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    return {
      nodes,
      env: { REDIS_CLUSTER: 'true', REDIS_CLUSTER_NODES: nodes.map((n) => `127.0.0.1:${n.port}`).join(',') },
      client() {
        const c = new Cluster(nodes, { redisOptions: { maxRetriesPerRequest: null } });
        c.on('error', () => {});
        return c;
      },
      stop: () => Promise.all(servers.map((s) => s.stop())).then(() => undefined),
    };
  } catch (e) {
    await Promise.all(servers.map((s) => s.stop()));
    throw e;
  }
}
