import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 between a client and a server the test started, that can break the
 * connection the ways networks do:
 * - `stall()`: connections stay open but no byte moves (a partition, a hung load balancer); bytes
 *   sent meanwhile are held and delivered, in order, on `resume()`;
 * - `delay(ms)`: every chunk arrives `ms` later, order kept (a slow link);
 * - `reset()`: every open connection is torn down with a TCP RST, as when a server or a NAT drops it;
 * - `refuse(true)`: new connections are reset at once (the server is "gone") until `refuse(false)`.
 */
export class TcpProxy {
  readonly port: number;
  private readonly server: Server;
  private readonly pairs = new Set<{ client: Socket; upstream: Socket }>();
  private stalled = false;
  private delayMs = 0;
  private refusing = false;
  private readonly held: (() => void)[] = [];
  /** Connections accepted since start (reconnects show up here). */
  accepted = 0;

  private constructor(server: Server, port: number) {
    this.server = server;
    this.port = port;
  }

  static async start(target: { port: number; host?: string }): Promise<TcpProxy> {
    const host = target.host ?? '127.0.0.1';
    if (host !== '127.0.0.1' && host !== '::1' && host !== 'localhost') throw new Error('the proxy only forwards to this machine');
    const holder: { proxy?: TcpProxy } = {};
    const server = createServer((client) => holder.proxy!.onConnection(client, target.port, host));
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
    });
    holder.proxy = new TcpProxy(server, port);
    return holder.proxy;
  }

  /** host:port of the proxy, for a client's URL. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  url(db = 0, password?: string): string {
    return `redis://${password ? `:${encodeURIComponent(password)}@` : ''}127.0.0.1:${this.port}/${db}`;
  }

  get connections(): number {
    return this.pairs.size;
  }

  private onConnection(client: Socket, port: number, host: string): void {
    this.accepted++;
    if (this.refusing) {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect({ port, host });
    const pair = { client, upstream };
    this.pairs.add(pair);
    const forward = (from: Socket, to: Socket) => {
      // Per direction, chunks are delivered strictly in order, whatever the delay or stall.
      let chain = Promise.resolve();
      from.on('data', (chunk: Buffer) => {
        chain = chain.then(() =>
          this.deliver(() => {
            if (!to.destroyed) to.write(chunk);
          }),
        );
      });
    };
    forward(client, upstream);
    forward(upstream, client);
    const end = () => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  }

  private deliver(write: () => void): Promise<void> {
    return new Promise((resolve) => {
      const go = () => {
        if (this.stalled) {
          this.held.push(go);
          return;
        }
        write();
        resolve();
      };
      if (this.delayMs > 0) setTimeout(go, this.delayMs);
      else go();
    });
  }

  stall(): void {
    this.stalled = true;
  }

  resume(): void {
    this.stalled = false;
    for (const go of this.held.splice(0)) go();
  }

  delay(ms: number): void {
    this.delayMs = ms;
  }

  /** Tears down every open connection with RST (both sides see ECONNRESET). */
  reset(): number {
    const n = this.pairs.size;
    for (const { client, upstream } of [...this.pairs]) {
      client.resetAndDestroy();
      upstream.resetAndDestroy();
    }
    this.pairs.clear();
    this.held.length = 0;
    return n;
  }

  refuse(on: boolean): void {
    this.refusing = on;
  }

  async close(): Promise<void> {
    this.stalled = false;
    this.reset();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
