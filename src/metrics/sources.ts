import type { Config } from '../config/resolve.js';
import { ROLES, type Role } from '../config/endpoints.js';
import { ProviderLimits, type ProviderLimitStatus } from '../limits/provider-limits.js';
import { sampleQueues, type QueueSample } from '../queue/monitor.js';
import { queueCounts } from '../queue/status.js';
import { DEFAULT_QUEUES } from '../queue/discover.js';
import type { RedisClient } from '../redis/connect.js';
import { readRoleStats, type RoleStats } from '../redis/stats.js';
import { listWorkers, type WorkerRecord } from '../runtime/worker-registry.js';
import { scheduleKeys } from '../schedule/keys.js';
import { listSchedule, type ListedEntry } from '../schedule/list.js';
import type { Cached } from './cached.js';
import { readCounters, type CounterTotals } from './counters-read.js';
import { cacheKeyCounts, knownQueues } from './discovery.js';

/** What one queue holds per BullMQ state (bullmq_job_count). */
export interface QueueCounts {
  queue: string;
  states: Record<JobState, number>;
}

export const JOB_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'completed', 'failed', 'paused'] as const;
export type JobState = (typeof JOB_STATES)[number];

export interface SourceOptions {
  /** A source that fails: reported here and its series left out. Without it, the failure is thrown (`metrics --once`). */
  onError?: (what: string, e: Error) => void;
  /** How long a scrape may wait for a SCAN-based figure that was never computed (ms). */
  discoveryWaitMs: number;
  now?: number;
  /** Queues to report whether or not discovery has seen them yet (those alert rules name). */
  queues?: readonly string[];
}

/**
 * Everything one scrape reads, each read at most once and only when a collector asks (collectors
 * share the queue list, the worker records, the INFO of a server). Nothing here is kept between
 * scrapes: the figures live in Redis.
 */
export class ScrapeSources {
  readonly now: number;
  private readonly memo = new Map<string, Promise<unknown>>();

  constructor(
    readonly config: Config,
    private readonly clients: Partial<Record<Role, RedisClient>>,
    private readonly options: SourceOptions,
  ) {
    this.now = options.now ?? Date.now();
  }

  /** The queue role's client when it is connected. */
  get queueClient(): RedisClient | undefined {
    return usable(this.clients.queue);
  }

  /** Roles this scrape was given a client for (the others are not reported at all). */
  roles(): Role[] {
    return ROLES.filter((r) => this.clients[r] !== undefined);
  }

  /** Reports a failed source (or rethrows without onError) and gives `fallback`. */
  failed<T>(what: string, e: unknown, fallback: T): T {
    if (!this.options.onError) throw e;
    this.options.onError(what, e as Error);
    return fallback;
  }

  queues(): Promise<string[]> {
    return this.once('queues', async () => {
      const client = this.needQueue();
      const [found, workers] = await Promise.all([
        knownQueues(this.config, client, { waitMs: this.options.discoveryWaitMs, onError: (e) => this.options.onError?.('queue discovery', e) }),
        this.workers(),
      ]);
      return [...new Set([...DEFAULT_QUEUES, ...found, ...workers.flatMap((w) => w.queues), ...(this.options.queues ?? [])])].sort();
    });
  }

  workers(): Promise<WorkerRecord[]> {
    return this.once('workers', () => listWorkers(this.config, this.needQueue()));
  }

  counters(): Promise<CounterTotals> {
    return this.once('counters', () => readCounters(this.needQueue(), this.config.queue.prefix));
  }

  backlog(): Promise<QueueSample[]> {
    return this.once('backlog', async () => (await sampleQueues(this.config, this.needQueue(), await this.queues(), {}, this.now)).queues);
  }

  queueCounts(): Promise<QueueCounts[]> {
    return this.once('queueCounts', async () => readQueueCounts(this.config, this.needQueue(), await this.queues()));
  }

  schedule(): Promise<ListedEntry[]> {
    return this.once('schedule', () => listSchedule(this.config, { count: 1, client: this.needQueue(), now: this.now }));
  }

  /** Epoch ms of the newest scheduler heartbeat of the last 24 h, or undefined. */
  lastSchedulerBeat(): Promise<number | undefined> {
    return this.once('schedulerBeat', async () => {
      const newest = await this.needQueue().zrange(scheduleKeys(this.config.queue.prefix).heartbeats, '-1', '-1', 'WITHSCORES');
      return newest.length === 2 ? Number(newest[1]) : undefined;
    });
  }

  /** The provider rate limits (docs/rate-limits.md): one status read per scrape, a script call per provider, no key scan. */
  providerLimits(): Promise<ProviderLimitStatus[]> {
    return this.once('providerLimits', () => new ProviderLimits(this.config, this.needQueue()).status());
  }

  cacheKeys(): Promise<Cached<Record<string, number>> | undefined> {
    return this.once('cacheKeys', async () => {
      const cache = usable(this.clients.cache);
      if (!cache) return undefined;
      return cacheKeyCounts(this.config, this.needQueue(), cache, {
        waitMs: this.options.discoveryWaitMs,
        onError: (e) => this.options.onError?.('cache key count', e),
      });
    });
  }

  /** INFO per role; a role whose server does not answer is missing from the map. */
  roleStats(): Promise<Map<Role, RoleStats>> {
    return this.once('roleStats', async () => {
      const read = await Promise.all(
        this.roles().map(async (role): Promise<[Role, RoleStats] | undefined> => {
          const client = usable(this.clients[role]);
          if (!client) return undefined;
          try {
            const [s] = await readRoleStats(this.config, [role], { [role]: client });
            return [role, s];
          } catch (e) {
            return this.failed(`INFO of the ${role} role`, e, undefined);
          }
        }),
      );
      return new Map(read.filter((x) => x !== undefined));
    });
  }

  private needQueue(): RedisClient {
    const c = this.queueClient;
    if (!c) throw Object.assign(new Error('the queue role is not connected'), { code: 'ECONNREFUSED' });
    return c;
  }

  private once<T>(what: string, read: () => Promise<T>): Promise<T> {
    let p = this.memo.get(what) as Promise<T> | undefined;
    if (!p) this.memo.set(what, (p = read()));
    return p;
  }
}

/** A client that can answer now; a reconnecting one would queue the scrape's commands until Redis is back. */
function usable(client: RedisClient | undefined): RedisClient | undefined {
  return client && client.status === 'ready' ? client : undefined;
}

/**
 * Jobs per BullMQ state, from the one pipelined reader of every queue's counts (src/queue/status.ts
 * `queueCounts`: O(1) reads, no BullMQ Queue opened). `waiting` is the wait list (and BullMQ < 5's
 * paused list) without the prioritized jobs, which have a state of their own here; `paused` counts
 * the jobs a pause holds.
 */
async function readQueueCounts(config: Config, client: RedisClient, queues: readonly string[]): Promise<QueueCounts[]> {
  return (await queueCounts(config, client, queues)).map((q) => ({
    queue: q.name,
    states: {
      waiting: q.waiting - q.prioritized,
      active: q.active,
      delayed: q.delayed,
      prioritized: q.prioritized,
      'waiting-children': q.waitingChildren,
      completed: q.completed,
      failed: q.failed,
      paused: q.paused,
    },
  }));
}
