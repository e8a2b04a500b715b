import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './redis-server.js';

/**
 * A Redis Sentinel on 127.0.0.1 and a free port (`redis-server <conf> --sentinel`: Debian's
 * redis-server runs Sentinel too), watching one master. Sentinel rewrites its config file, so each
 * one gets its own temporary directory; stopped by its PID.
 */
export class Sentinel {
  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly proc: ChildProcess,
  ) {}

  static async start(options: { masterName: string; masterPort: number; quorum: number; downAfterMs: number; failoverTimeoutMs: number }): Promise<Sentinel> {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'rqctl-sentinel-'));
    const conf = join(dir, 'sentinel.conf');
    writeFileSync(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        'logfile ""',
        `sentinel monitor ${options.masterName} 127.0.0.1 ${options.masterPort} ${options.quorum}`,
        `sentinel down-after-milliseconds ${options.masterName} ${options.downAfterMs}`,
        `sentinel failover-timeout ${options.masterName} ${options.failoverTimeoutMs}`,
        `sentinel parallel-syncs ${options.masterName} 1`,
        '',
      ].join('\n'),
    );
    const proc = spawn('redis-server', [conf, '--sentinel'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const s = new Sentinel(port, dir, proc);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const c = s.client();
      try {
        await c.ping();
        return s;
      } catch (e) {
        if (proc.exitCode !== null || Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 50));
      } finally {
        c.disconnect();
      }
    }
  }

  client(): Redis {
    const c = new Redis({ host: '127.0.0.1', port: this.port, lazyConnect: false, maxRetriesPerRequest: 1, retryStrategy: () => null });
    c.on('error', () => {});
    return c;
  }

  /** The master's address as this Sentinel sees it now: `127.0.0.1:port`. */
  async master(name: string): Promise<string> {
    const c = this.client();
    try {
      const [host, port] = (await c.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name)) as [string, string];
      return `${host}:${port}`;
    } finally {
      c.disconnect();
    }
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (p.exitCode === null && p.signalCode === null) {
      const gone = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      const t = setTimeout(() => p.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(t);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
