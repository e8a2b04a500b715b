import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import type { Config } from '../config/resolve.js';
import { ExitCode, RqctlError } from '../errors.js';
import type { EventLog } from '../runtime/events.js';
import { dashboardApp } from './app.js';
import { JobBrowser } from './job-browser.js';
import type { DashboardOptions } from './options.js';
import { OverviewCollector } from './overview/collector.js';
import { portHolder } from './port-holder.js';
import { DashboardRedis } from './redis.js';

export interface DashboardServerOptions extends DashboardOptions {
  log: EventLog;
  rqctlVersion: string;
  /** `rqctl up`: when the port is taken, try the next ones (this many in all) instead of failing. */
  portAttempts?: number;
}

export interface DashboardInfo {
  url: string;
  host: string;
  port: number;
  readOnly: boolean;
  auth: boolean;
}

type HttpServer = ReturnType<typeof createAdaptorServer> & { closeAllConnections?: () => void };

/** How often, while nobody looks, the backlog is sampled and the job browser learns new queues. */
const BACKGROUND_MS = 15_000;

/**
 * `rqctl dashboard` (docs/dashboard.md): the overview, the job browser, `/api/overview` and
 * `/healthz` on one HTTP server. Starts without Redis (the page says what is unreachable).
 */
export class DashboardServer {
  private readonly redis: DashboardRedis;
  private readonly collector: OverviewCollector;
  private readonly jobBrowser: JobBrowser;
  private server: HttpServer | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;

  constructor(
    private readonly config: Config,
    private readonly options: DashboardServerOptions,
  ) {
    this.redis = new DashboardRedis(config);
    this.collector = new OverviewCollector(config, this.redis, { readOnly: options.readOnly, rqctlVersion: options.rqctlVersion });
    this.jobBrowser = new JobBrowser(config, this.redis.client('queue'), {
      basePath: options.basePath,
      readOnly: options.readOnly,
      overviewUrl: `${options.basePath}/`,
    });
  }

  async start(): Promise<DashboardInfo> {
    const { options } = this;
    const app = dashboardApp({
      config: this.config,
      options,
      redis: this.redis,
      collector: this.collector,
      jobBrowser: this.jobBrowser,
      log: options.log,
    });
    const attempts = options.portAttempts ?? 1;
    let port = options.port;
    for (let i = 0; ; i++) {
      const server = createAdaptorServer({ fetch: app.fetch }) as HttpServer;
      try {
        await listen(server, port, options.host);
        this.server = server;
        break;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE' && i + 1 < attempts && port !== 0) {
          port++;
          continue;
        }
        throw listenError(e, options.host, port);
      }
    }
    // The job browser learns the queues as soon as the queue role answers (at start, or later).
    this.redis.client('queue').on('ready', () => void this.tick());
    this.redis.start();
    // A moment for the queue role, so the first page (and `up`'s banner) finds it connected; a Redis
    // that is down does not hold the start.
    await this.redis.waitReady('queue', 2000);
    this.timer = setInterval(() => void this.tick(), BACKGROUND_MS);
    this.timer.unref();
    void this.tick();
    const actual = (this.server.address() as AddressInfo).port;
    const shownHost = options.host.includes(':') && !options.host.startsWith('[') ? `[${options.host}]` : options.host;
    return {
      url: `http://${shownHost}:${actual}${options.basePath}/`,
      host: options.host,
      port: actual,
      readOnly: options.readOnly,
      auth: !!options.credentials,
    };
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    const server = this.server;
    this.server = undefined;
    if (server) {
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections?.();
      await closed;
    }
    await this.ticking;
    await this.jobBrowser.close();
    await this.collector.close();
    await this.redis.close();
  }

  /** Keeps the job browser's queue list and the backlog chart current between page loads. */
  private tick(): Promise<void> {
    // Cleared in a .finally (always a later microtask), never before the assignment.
    this.ticking ??= this.backgroundRead().finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  private async backgroundRead(): Promise<void> {
    try {
      if (!this.redis.isReady('queue')) return;
      this.jobBrowser.setQueues(await this.collector.queueNames());
      if (Date.now() - this.collector.backlog.lastAt >= BACKGROUND_MS) await this.collector.sampleBacklog();
    } catch {
      // Redis went away between the check and the read: the next tick tries again.
    }
  }
}

function listen(server: HttpServer, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => {
      server.off('listening', onListening);
      reject(e);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host.replace(/^\[(.*)\]$/, '$1'));
  });
}

function listenError(e: unknown, host: string, port: number): RqctlError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') {
    const holder = portHolder(port);
    return new RqctlError('PORT_IN_USE', ExitCode.unreachable, `port ${port} on ${host} is in use${holder ? ` by ${holder}` : ''}`, {
      hint: 'stop that process, or choose another port with --port (DASHBOARD_PORT)',
      cause: e,
    });
  }
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new RqctlError('HOST_UNAVAILABLE', ExitCode.usage, `cannot listen on ${host}: no such local address`, {
      hint: 'use an address of this machine, e.g. 127.0.0.1 or 0.0.0.0',
      cause: e,
    });
  }
  if (code === 'EACCES') {
    return new RqctlError('PORT_DENIED', ExitCode.usage, `not allowed to listen on port ${port}`, {
      hint: 'ports below 1024 need privileges: use --port 7780',
      cause: e,
    });
  }
  return new RqctlError('LISTEN_FAILED', ExitCode.unreachable, `cannot listen on ${host}:${port}: ${(e as Error).message}`, { cause: e });
}
