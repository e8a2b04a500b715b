import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { ROOT } from './cli.js';

export interface Arrival {
  /** Date.now() when the request arrived. */
  at: number;
  path: string;
  status: number;
}

/**
 * A CoinGecko stand-in on 127.0.0.1 serving the recorded /coins/markets response and noting each
 * request's arrival time, in a worker thread so the test's own work never delays those times
 * (test/fixtures/limits/arrival-server.mjs). Base URL: `coingeckoUrl`. close() it.
 */
export class ArrivalServer {
  private nextId = 0;

  private constructor(
    private readonly worker: Worker,
    readonly port: number,
  ) {}

  static async start(): Promise<ArrivalServer> {
    const providers = join(ROOT, 'test', 'fixtures', 'providers', 'coingecko');
    const worker = new Worker(join(ROOT, 'test', 'fixtures', 'limits', 'arrival-server.mjs'), {
      workerData: { fixture: join(providers, 'coins_markets.json'), fixture429: join(providers, 'error_429.json') },
    });
    const port = await new Promise<number>((resolve, reject) => {
      worker.once('error', reject);
      worker.on('message', (m: { type: string; port?: number }) => m.type === 'listening' && resolve(m.port!));
    });
    return new ArrivalServer(worker, port);
  }

  get coingeckoUrl(): string {
    return `http://127.0.0.1:${this.port}/coingecko/api/v3`;
  }

  /** The next request is answered 429 with this Retry-After (seconds). */
  queue429(retryAfterSeconds: number): void {
    this.worker.postMessage({ type: 'queue429', retryAfter: retryAfterSeconds });
  }

  /** Every request so far, in arrival order. */
  arrivals(): Promise<Arrival[]> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const on = (m: { type: string; id?: number; log?: Arrival[] }) => {
        if (m.type !== 'log' || m.id !== id) return;
        this.worker.off('message', on);
        resolve(m.log!);
      };
      this.worker.on('message', on);
      this.worker.postMessage({ type: 'log', id });
    });
  }

  async close(): Promise<void> {
    const gone = new Promise((r) => this.worker.once('exit', r));
    this.worker.postMessage({ type: 'close' });
    const t = setTimeout(() => void this.worker.terminate(), 5000);
    await gone;
    clearTimeout(t);
  }
}
