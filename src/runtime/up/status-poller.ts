import type { Queue } from 'bullmq';
import type { RedisClient } from '../../redis/connect.js';
import { withTimeout } from '../../util/timeout.js';
import type { WorkerPool } from './worker-pool.js';

/** One queue's counts, as `rqctl up`'s status line shows them. */
export interface UpQueueCounts {
  name: string;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
}

export interface UpStatus {
  /** Worker processes running now. */
  workers: number;
  processed: number;
  failed: number;
  retried: number;
  queues: UpQueueCounts[];
  /** Keys in the cache role's DB; null when the cache shares its DB with the queue. */
  cacheKeys: number | null;
  redisOk: boolean;
}

export interface StatusPollerOptions {
  queues: Queue[];
  /** Only when the cache has a DB of its own. */
  cacheClient?: RedisClient;
  pool: WorkerPool;
  intervalMs: number;
  onStatus?: (status: UpStatus) => void;
}

/** How long one poll may take before Redis counts as unreachable. */
const POLL_TIMEOUT_MS = 3000;

/** `rqctl up`'s live status: queue counts and cache size from Redis, job counts from the workers. */
export class StatusPoller {
  private status: UpStatus = { workers: 0, processed: 0, failed: 0, retried: 0, queues: [], cacheKeys: null, redisOk: true };
  private polling = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: StatusPollerOptions) {}

  /** Polls now, then every intervalMs. */
  start(): void {
    this.timer = setInterval(() => void this.poll(), this.options.intervalMs);
    void this.poll();
  }

  get current(): UpStatus {
    return this.status;
  }

  close(): void {
    clearInterval(this.timer);
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    const { pool } = this.options;
    try {
      const [queues, cacheKeys] = await withTimeout(Promise.all([this.queueCounts(), this.cacheKeys()]), POLL_TIMEOUT_MS, 'status timed out');
      this.status = { ...pool.counters, workers: pool.running, queues, cacheKeys, redisOk: true };
    } catch {
      this.status = { ...this.status, ...pool.counters, workers: pool.running, redisOk: false };
    } finally {
      this.polling = false;
    }
    this.options.onStatus?.(this.status);
  }

  private queueCounts(): Promise<UpQueueCounts[]> {
    return Promise.all(
      this.options.queues.map(async (q) => {
        const c = await q.getJobCounts('wait', 'prioritized', 'active', 'delayed', 'failed');
        return { name: q.name, waiting: (c.wait ?? 0) + (c.prioritized ?? 0), active: c.active ?? 0, delayed: c.delayed ?? 0, failed: c.failed ?? 0 };
      }),
    );
  }

  private cacheKeys(): Promise<number | null> {
    const { cacheClient } = this.options;
    return cacheClient ? cacheClient.dbsize() : Promise.resolve(null);
  }
}
