import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { freePort, RedisServer } from './redis-server.js';

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

/** A three-master Redis Cluster of the test's own on 127.0.0.1 (no replicas); stop() ends its servers. */
export class TestCluster {
  private constructor(
    readonly servers: RedisServer[],
    readonly ports: number[],
  ) {}

  static async start(password?: string): Promise<TestCluster> {
    const ports: number[] = [];
    for (let i = 0; i < 3; i++) ports.push(await clusterPort(ports));
    const servers: RedisServer[] = [];
    const cluster = new TestCluster(servers, ports);
    try {
      for (const port of ports)
        servers.push(
          await RedisServer.start({
            port,
            password,
            args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '5000'],
          }),
        );
      const auth = password ? ['-a', password, '--no-auth-warning'] : [];
      const create = spawnSync(
        'redis-cli',
        [...auth, '--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'],
        {
          timeout: 30_000,
        },
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
      return cluster;
    } catch (e) {
      await cluster.stop();
      throw e;
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.stop()));
  }
}
