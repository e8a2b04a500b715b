// A private redis-server for the benchmarks: 127.0.0.1, a free port, a temporary dir, no
// persistence, stopped by its PID. The JS twin of test/helpers/redis-server.ts (the bench runs
// plain ESM against dist/, without a TypeScript loader).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/** A free TCP port on 127.0.0.1, never 6379. */
export async function freePort() {
  for (;;) {
    const port = await new Promise((resolve, reject) => {
      const srv = createServer();
      srv.unref();
      srv.on('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const { port: p } = srv.address();
        srv.close(() => resolve(p));
      });
    });
    if (port !== 6379) return port;
  }
}

export class BenchRedis {
  /** @param {{args?: string[]}} options */
  static async start(options = {}) {
    const server = new BenchRedis(await freePort(), options.args ?? []);
    await server.launch();
    return server;
  }

  constructor(port, args) {
    this.port = port;
    this.args = args;
    this.dir = mkdtempSync(join(tmpdir(), 'rqctl-bench-redis-'));
    this.proc = undefined;
  }

  get pid() {
    return this.proc?.pid;
  }

  url(db = 0) {
    return `redis://127.0.0.1:${this.port}/${db}`;
  }

  async launch() {
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--dir',
      this.dir,
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
      '--logfile',
      '',
      '--loglevel',
      'warning',
      '--maxmemory-policy',
      'noeviction',
      // DEBUG POPULATE fills a million keys in a second; local connections only.
      '--enable-debug-command',
      'local',
      ...this.args,
    ];
    const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    let output = '';
    proc.stdout.on('data', (d) => (output += d));
    proc.stderr.on('data', (d) => (output += d));
    const deadline = Date.now() + 10_000;
    for (;;) {
      const c = this.client();
      try {
        await c.ping();
        return;
      } catch (e) {
        if (proc.exitCode !== null) throw new Error(`redis-server exited (${proc.exitCode}): ${output.slice(-500)}`);
        if (Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 50));
      } finally {
        c.disconnect();
      }
    }
  }

  /** A plain client for setup and checks (the caller disconnects it). */
  client(db = 0, extra = {}) {
    const c = new Redis({ host: '127.0.0.1', port: this.port, db, maxRetriesPerRequest: 1, retryStrategy: () => null, ...extra });
    c.on('error', () => {});
    return c;
  }

  async stop() {
    const p = this.proc;
    if (p && p.exitCode === null && p.signalCode === null) {
      const gone = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      const t = setTimeout(() => p.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(t);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
