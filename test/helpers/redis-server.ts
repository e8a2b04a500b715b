import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/** A free TCP port on 127.0.0.1, never 6379. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.unref();
      srv.on('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const { port } = srv.address() as { port: number };
        srv.close(() => resolve(port));
      });
    });
    if (port !== 6379) return port;
  }
}

export interface RedisServerOptions {
  /** Extra redis-server arguments, e.g. ['--requirepass', 'x']. */
  args?: string[];
  password?: string;
  /** The ACL user the helper's own clients log in as (a server started with an aclfile has no default user). */
  username?: string;
  port?: number;
  /** Data directory; a fresh temporary one by default (removed on stop). */
  dir?: string;
}

/** A private redis-server on 127.0.0.1 and a free port, started by the test and stopped by its PID. */
export class RedisServer {
  readonly port: number;
  readonly password?: string;
  readonly username?: string;
  readonly dir: string;
  private readonly ownsDir: boolean;
  private proc?: ChildProcess;
  private readonly args: string[];

  private constructor(port: number, options: RedisServerOptions) {
    this.port = port;
    this.password = options.password;
    this.username = options.username;
    this.ownsDir = !options.dir;
    this.dir = options.dir ?? mkdtempSync(join(tmpdir(), 'rqctl-redis-'));
    this.args = options.args ?? [];
  }

  /**
   * Starts a server on `options.port`, or on a free port: tests run in parallel, so another test's
   * server can take a port between the check and the start; such a start is tried on another port.
   */
  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    for (let attempt = 1; ; attempt++) {
      const server = new RedisServer(options.port ?? (await freePort()), options);
      try {
        await server.launch();
        return server;
      } catch (e) {
        await server.stop(); // its temporary directory goes too
        if (options.port !== undefined || attempt >= 5 || !/Address already in use/.test((e as Error).message)) throw e;
      }
    }
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** redis://[:password@]127.0.0.1:port/db */
  url(db = 0): string {
    return `redis://${this.password ? `:${encodeURIComponent(this.password)}@` : ''}127.0.0.1:${this.port}/${db}`;
  }

  async launch(): Promise<void> {
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--dir',
      this.dir,
      '--save',
      '',
      '--daemonize',
      'no',
      '--logfile',
      '',
      '--loglevel',
      'warning',
      ...(this.password && !this.username ? ['--requirepass', this.password] : []),
      ...this.args,
    ];
    const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    let output = '';
    proc.stdout?.on('data', (d) => (output += d));
    proc.stderr?.on('data', (d) => (output += d));
    const exited = new Promise<never>((_, reject) => proc.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${output.slice(-500)}`))));
    exited.catch(() => {});
    const deadline = Date.now() + 10_000;
    for (;;) {
      const client = this.client();
      try {
        await Promise.race([client.ping(), exited]);
        return;
      } catch (e) {
        if (proc.exitCode !== null || Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 50));
      } finally {
        client.disconnect();
      }
    }
  }

  /** A plain ioredis client for test assertions (the caller disconnects it). */
  client(db = 0): Redis {
    const c = new Redis({
      host: '127.0.0.1',
      port: this.port,
      username: this.username,
      password: this.password,
      db,
      lazyConnect: false,
      maxRetriesPerRequest: 1,
      retryStrategy: () => null,
      enableOfflineQueue: true,
    });
    c.on('error', () => {});
    return c;
  }

  /** SIGKILL, as in a crash. The data dir stays for a restart. */
  async kill(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    const gone = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await gone;
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (p && p.exitCode === null && p.signalCode === null) {
      const gone = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      const t = setTimeout(() => p.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(t);
    }
    if (this.ownsDir) rmSync(this.dir, { recursive: true, force: true });
  }
}
