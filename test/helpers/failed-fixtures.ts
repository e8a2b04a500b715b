import { createServer, type Server } from 'node:http';
import { Queue, Worker, type Processor } from 'bullmq';
import { Redis } from 'ioredis';

/**
 * Fixtures for failed-job and queue tests: a unique key prefix per test (so the shared redis-server
 * can serve every test file at once and discovery only sees this test's queues), BullMQ queues and
 * real Workers on it, a local "provider" HTTP server, and a cleanup that deletes only this prefix.
 */
export interface Fixture {
  url: string;
  prefix: string;
  env: Record<string, string>;
  redis: Redis;
  connection: { host: string; port: number; db: number; maxRetriesPerRequest: null };
  queue(name: string): Queue;
  /** Runs a Worker until `until()` holds, then closes it. */
  work(name: string, processor: Processor, until: () => Promise<boolean>, concurrency?: number): Promise<void>;
  close(): Promise<void>;
}

export async function makeFixture(url: string): Promise<Fixture> {
  const u = new URL(url);
  const db = Number(u.pathname.slice(1) || 0);
  const prefix = `t5${Math.random().toString(36).slice(2, 10)}`;
  const connection = { host: u.hostname, port: Number(u.port), db, maxRetriesPerRequest: null as null };
  const redis = new Redis({ ...connection, lazyConnect: false });
  redis.on('error', () => {});
  const queues: Queue[] = [];
  return {
    url,
    prefix,
    env: { REDIS_URL: url, QUEUE_PREFIX: prefix },
    redis,
    connection,
    queue(name) {
      const q = new Queue(name, { connection, prefix });
      queues.push(q);
      return q;
    },
    async work(name, processor, until, concurrency = 20) {
      const w = new Worker(name, processor, { connection, prefix, concurrency });
      w.on('error', () => {});
      try {
        const deadline = Date.now() + 50_000;
        while (!(await until())) {
          if (Date.now() > deadline) throw new Error(`worker on ${name}: condition not reached in time`);
          await new Promise((r) => setTimeout(r, 50));
        }
      } finally {
        await w.close();
      }
    },
    async close() {
      await Promise.all(queues.map((q) => q.close()));
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await redis.unlink(...keys);
      } while (cursor !== '0');
      redis.disconnect();
    },
  };
}

/** A stand-in for Finnhub on 127.0.0.1: answers 500 until `recover()`, then 200 with a quote. */
export async function providerServer(): Promise<{ baseUrl: string; requests: () => number; recover(): void; close(): Promise<void> }> {
  let healthy = false;
  let count = 0;
  const server: Server = createServer((req, res) => {
    count++;
    if (!healthy) {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"error":"Internal Server Error"}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"c":189.84,"d":1.2,"dp":0.64,"h":190.3,"l":187.6,"o":188.1,"pc":188.64,"t":1714766400}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    baseUrl: `http://127.0.0.1:${port}/api/v1`,
    requests: () => count,
    recover: () => (healthy = true),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/**
 * A getStockQuote-like processor: GET {base}/quote?symbol=… and fail with the HTTP status and the
 * provider's message, as the bundled FetchStockData job does.
 */
export function stockQuoteProcessor(baseUrl: string): Processor {
  return async (job) => {
    const res = await fetch(`${baseUrl}/quote?symbol=${encodeURIComponent(job.data.params.symbol)}`);
    const body = await res.text();
    if (!res.ok) throw new Error(`Finnhub getStockQuote: HTTP ${res.status}: ${body}`);
    return JSON.parse(body);
  };
}
