import type { Config } from '../../config/resolve.js';
import { ProviderLimits } from '../../limits/provider-limits.js';
import { readJobMetrics } from '../../queue/metrics.js';
import { discoverQueues } from '../../queue/queues.js';
import type { DashboardRedis } from '../redis.js';
import { BacklogHistory, toTimeSeries } from './charts.js';
import { readRoles, readQueues, readWorkers } from './live.js';
import { readCache, readDoctor, readSchedule } from './periodic.js';
import { Refreshing } from './refreshing.js';
import type { Charts, Overview, Section, TimeSeries, WorkerView } from './types.js';

/** How long the costlier parts are kept before they are read again (in the background). */
export const REFRESH = {
  /** The page's own refresh. */
  pageMs: 5000,
  /** Queue discovery SCANs the queue role's keyspace for `<prefix>:*:meta`. */
  discoveryMs: 60_000,
  /** 1,440 points per queue and type. */
  dayChartMs: 60_000,
  scheduleMs: 15_000,
  /** A SCAN over every cache key. */
  cacheMs: 5 * 60_000,
  doctorMs: 60_000,
} as const;

const errorText = (e: unknown) => String((e as Error)?.message ?? e).split('\n')[0];

/**
 * The one collector of the overview (`GET /api/overview`, docs/dashboard.md). Counts, BullMQ's
 * metrics, heartbeats and the scheduler's records only: it never reads a job list.
 */
export class OverviewCollector {
  /** One backlog sample per 15 s: at most 240 points per queue for the hour. */
  readonly backlog = new BacklogHistory(15_000);
  private readonly discovery: Refreshing<string[]>;
  private readonly day: Refreshing<TimeSeries>;
  private readonly schedule: Refreshing<Awaited<ReturnType<typeof readSchedule>>>;
  private readonly cache: Refreshing<Awaited<ReturnType<typeof readCache>>>;
  private readonly doctor: Refreshing<Awaited<ReturnType<typeof readDoctor>>>;
  /** On the queue role's client, which stays the same for the dashboard's life. */
  private readonly providerLimits: ProviderLimits;

  constructor(
    private readonly config: Config,
    private readonly redis: DashboardRedis,
    private readonly meta: { readOnly: boolean; rqctlVersion: string },
  ) {
    const queue = () => this.readyClient('queue');
    this.discovery = new Refreshing(async () => discoverQueues(config, await queue()), REFRESH.discoveryMs, errorText);
    this.day = new Refreshing(
      async () => toTimeSeries(await readJobMetrics(config, await queue(), await this.queueNames(), 1440), 10),
      REFRESH.dayChartMs,
      errorText,
    );
    this.schedule = new Refreshing(
      async () => readSchedule(config, redis.isReady('queue') ? redis.client('queue') : undefined, Date.now()),
      REFRESH.scheduleMs,
      errorText,
    );
    this.cache = new Refreshing(async () => readCache(config, await this.readyClient('cache')), REFRESH.cacheMs, errorText);
    this.doctor = new Refreshing(async () => readDoctor(config, redis, Date.now()), REFRESH.doctorMs, errorText);
    this.providerLimits = new ProviderLimits(config, redis.client('queue'));
  }

  /** Every queue under the prefix (and the default ones), as last discovered; [] before Redis answers. */
  async queueNames(): Promise<string[]> {
    return (await this.discovery.get()).value ?? [];
  }

  /** After an action through the dashboard, the next read shows its effect. */
  invalidate(): void {
    this.schedule.invalidate();
    this.day.invalidate();
  }

  async collect(now = Date.now()): Promise<Overview> {
    const t0 = performance.now();
    const queueProblem = this.redis.problem('queue');
    // The queue names come from the last discovery (a cached read): everything else runs at once.
    const names = await this.queueNames();
    const [roles, workers, queues, limits, hour, day, schedule, cache, doctor] = await Promise.all([
      readRoles(this.config, this.redis),
      this.settle(async () => readWorkers(this.config, await this.readyClient('queue'), now)),
      this.settle(async () => readQueues(this.config, await this.readyClient('queue'), names, now)),
      // One status read per request (a script call per provider), like `rqctl limits`; the role's problem when it is down.
      this.settle(async () => {
        await this.readyClient('queue');
        return this.providerLimits.status();
      }),
      this.settle(async () => toTimeSeries(await readJobMetrics(this.config, await this.readyClient('queue'), names, 60, now))),
      this.day.get(now),
      this.section(this.schedule, (entries) => ({ entries })),
      this.section(this.cache, (c) => c),
      this.section(this.doctor, (checks) => ({ checks })),
    ]);
    const workerList = workers.value ?? [];
    const queueList = (queues.value ?? []).map((q) => ({ ...q, workers: countWorkers(workerList, q.name) }));
    if (queues.value) this.backlog.record(now, queueList);
    return {
      version: 1,
      generatedAt: new Date(now).toISOString(),
      tookMs: Math.round((performance.now() - t0) * 10) / 10,
      dashboard: { readOnly: this.meta.readOnly, refreshSeconds: REFRESH.pageMs / 1000, rqctlVersion: this.meta.rqctlVersion },
      redis: { ok: queueProblem === null, error: queueProblem },
      roles,
      workers: workerList,
      workersError: workers.error,
      queues: queueList,
      queuesError: queues.error,
      charts: this.charts(names, hour, day),
      limits: limits.value ?? [],
      limitsError: limits.error,
      schedule,
      cache: liveCacheFigures(cache, roles),
      doctor,
    };
  }

  /** The backlog sample alone, for the background sampler while nobody looks at the page. */
  async sampleBacklog(now = Date.now()): Promise<void> {
    if (!this.redis.isReady('queue')) return;
    const names = await this.queueNames();
    this.backlog.record(now, await readQueues(this.config, this.redis.client('queue'), names, now));
  }

  async close(): Promise<void> {
    await Promise.all([this.discovery, this.day, this.schedule, this.cache, this.doctor].map((r) => r.settle().catch(() => {})));
  }

  private charts(
    names: string[],
    hour: { value?: TimeSeries; error: string | null },
    day: { value: TimeSeries | undefined; at: number | undefined; error: string | null },
  ): Charts {
    const empty: TimeSeries = { times: [], stepSeconds: 60, series: [] };
    return {
      hour: hour.value ?? empty,
      day: { ...(day.value ?? { ...empty, stepSeconds: 600 }), at: day.at ? new Date(day.at).toISOString() : null },
      backlog: this.backlog.view(names),
      error: hour.error ?? day.error,
    };
  }

  private async readyClient(role: 'queue' | 'cache') {
    const problem = this.redis.problem(role);
    if (problem !== null) throw new Error(problem);
    return this.redis.client(role);
  }

  private async settle<T>(read: () => Promise<T>): Promise<{ value?: T; error: string | null }> {
    try {
      return { value: await read(), error: null };
    } catch (e) {
      return { error: errorText(e) };
    }
  }

  private async section<T, V extends object>(source: Refreshing<T>, view: (v: T) => V): Promise<Section<V>> {
    const r = await source.get();
    const at = r.at ? new Date(r.at).toISOString() : null;
    if (r.value === undefined) return { at, error: r.error ?? 'not read yet' };
    if (r.error !== null) return { at, error: r.error };
    return { ...view(r.value), at: at!, error: null };
  }
}

function countWorkers(workers: WorkerView[], queue: string): number {
  return workers.filter((w) => !w.stale && w.queues.includes(queue)).length;
}

/** The cache's key counts come from the last SCAN; its hit ratio and evictions from this refresh's INFO. */
function liveCacheFigures(cache: Section<Awaited<ReturnType<typeof readCache>>>, roles: Overview['roles']): Overview['cache'] {
  const live = roles.find((r) => r.role === 'cache');
  if (cache.error !== null || !live?.reachable) return cache;
  return { ...cache, hitRatio: live.hitRatio, evictedKeys: live.evictedKeys ?? cache.evictedKeys, usedMemory: live.usedMemory ?? cache.usedMemory };
}
