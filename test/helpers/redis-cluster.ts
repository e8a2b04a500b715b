import { execFileSync } from 'node:child_process';
import { Cluster } from 'ioredis';
import { createServer } from 'node:net';
import { RedisServer, freePort } from './redis-server.js';

/** Whether `port` on 127.0.0.1 can be listened on now. */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A free port whose cluster bus port (port + 10000, so the port is ≤ 55535) is free too. */
async function clusterPort(): Promise<number> {
  for (;;) {
    const p = await freePort();
    if (p <= 55535 && (await canListen(p + 10000))) return p;
  }
}

/**
 * One cluster node on a free port. Tests run in parallel: another test's server can take the port or
 * its bus port between the check and the start (seen in CI: "bind: Address already in use" on the
 * bus port), so such a start is tried again on other ports.
 */
async function startNode(): Promise<RedisServer> {
  for (let attempt = 1; ; attempt++) {
    const port = await clusterPort();
    try {
      return await RedisServer.start({
        port,
        args: ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--maxmemory-policy', 'noeviction'],
      });
    } catch (e) {
      if (attempt >= 5 || !/Address already in use/.test((e as Error).message)) throw e;
    }
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
    for (let i = 0; i < 3; i++) servers.push(await startNode());
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
