import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/resolve.js';
import { ROLES, type Role } from '../config/endpoints.js';
import { ExitCode, RqctlError } from '../errors.js';
import { closeClient, createClient, type RedisClient } from '../redis/connect.js';
import type { EventLog } from '../runtime/events.js';
import { refreshDiscovery } from './discovery.js';
import { renderMetrics, wantsOpenMetrics } from './exposition.js';

/** How often the server looks whether the queue list or the cache key count is due (each under its own period and lock). */
const DISCOVERY_EVERY_MS = 60_000;

/** The longest a scrape waits for the exporter's first connections. */
const FIRST_CONNECTION_WAIT_MS = 3_000;

export interface MetricsServerOptions {
  host: string;
  port: number;
  log: EventLog;
}

/**
 * `rqctl metrics`: GET /metrics on a plain node:http server. Its clients reconnect forever, so the
 * exporter outlives a Redis restart and reports `rqctl_redis_up 0` meanwhile instead of dying. The
 * SCAN-based figures are refreshed on a timer here, never inside a scrape.
 */
export class MetricsServer {
  private readonly clients: Partial<Record<Role, RedisClient>> = {};
  private server: Server | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly lastError = new Map<string, number>();

  constructor(
    private readonly config: Config,
    private readonly options: MetricsServerOptions,
  ) {}

  /** Listens; resolves with the URL of /metrics. Redis need not be up yet. */
  async start(): Promise<string> {
    for (const role of ROLES) {
      const client = createClient(this.config.roles[role], { use: 'worker', timeoutMs: this.config.redis.connectTimeoutMs, connectionName: 'rqctl-metrics' });
      client.on('error', (e: Error) => this.report(`${role} role`, e));
      client.connect().catch(() => {});
      this.clients[role] = client;
    }
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', (e: NodeJS.ErrnoException) =>
        reject(
          e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL'
            ? new RqctlError('METRICS_LISTEN', ExitCode.usage, `cannot listen on ${this.options.host}:${this.options.port}: ${e.code}`, {
                hint: 'choose another --port (or --host)',
              })
            : e,
        ),
      );
      this.server!.listen(this.options.port, this.options.host, () => resolve());
    });
    this.timer = setInterval(() => this.refresh(), DISCOVERY_EVERY_MS);
    // Once the queue role is ready: the first scrape then finds the queue list and key count computed.
    const queue = this.clients.queue!;
    queue.once('ready', () => this.refresh());
    const { port } = this.server.address() as AddressInfo;
    const host = this.options.host.includes(':') ? `[${this.options.host}]` : this.options.host;
    return `http://${host}:${port}/metrics`;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    if (this.server) {
      const closed = new Promise<void>((r) => this.server!.close(() => r()));
      this.server.closeAllConnections();
      await closed;
    }
    await Promise.all(Object.values(this.clients).map((c) => closeClient(c)));
  }

  private refresh(): void {
    const queue = this.clients.queue;
    if (queue?.status !== 'ready') return;
    refreshDiscovery(this.config, queue, this.clients.cache?.status === 'ready' ? this.clients.cache : undefined).catch((e: Error) =>
      this.report('discovery', e),
    );
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('rqctl metrics exporter: GET /metrics\n');
      return;
    }
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: the metrics are at /metrics\n');
      return;
    }
    try {
      await this.firstConnection();
      const m = await renderMetrics(this.config, this.clients, {
        openMetrics: wantsOpenMetrics(req.headers.accept),
        onError: (what, e) => this.report(what, e),
      });
      res.writeHead(200, { 'content-type': m.contentType }).end(req.method === 'HEAD' ? undefined : m.body);
    } catch (e) {
      this.report('scrape', e as Error);
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`scrape failed: ${(e as Error).message}\n`);
    }
  }

  /**
   * A scrape that comes while the exporter is still making its first connections (just started)
   * waits for them, briefly: it would otherwise report `rqctl_redis_up 0` for a Redis that is up.
   * A client that is reconnecting (Redis away) is not waited for.
   */
  private async firstConnection(): Promise<void> {
    const pending = Object.values(this.clients).filter((c) => c.status === 'connecting' || c.status === 'connect' || c.status === 'wait');
    if (!pending.length) return;
    const waitMs = Math.min(this.config.redis.connectTimeoutMs, FIRST_CONNECTION_WAIT_MS);
    await Promise.all(
      pending.map(
        (c) =>
          new Promise<void>((resolve) => {
            const done = () => {
              clearTimeout(timer);
              c.off('ready', done);
              c.off('error', done);
              resolve();
            };
            const timer = setTimeout(done, waitMs);
            c.once('ready', done);
            c.once('error', done);
          }),
      ),
    );
  }

  /** One line per distinct problem at most every 30 s: a scrape every 15 s must not flood the log. */
  private report(what: string, e: Error): void {
    const key = `${what}: ${e?.message}`;
    const now = Date.now();
    if ((this.lastError.get(key) ?? 0) > now - 30_000) return;
    this.lastError.set(key, now);
    this.options.log({ level: 'warn', event: 'metrics.source-failed', source: what, msg: `${what}: ${e?.message}` });
  }
}
