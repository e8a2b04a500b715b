import { DURATION_BUCKETS, WAIT_BUCKETS } from './keys.js';
import type { HistogramTotals } from './counters-read.js';
import type { ProviderLimitStatus } from '../limits/provider-limits.js';
import { JOB_STATES, type ScrapeSources } from './sources.js';

/**
 * Every series `rqctl metrics` exposes (docs/metrics.md: names, types and labels are contracts), each
 * with the read that fills it at scrape time. Label values are bounded: queues that exist, job names
 * of the workers' registry (others were counted as `other`), schedule entries, roles, cache families,
 * the providers under `limits:` and their windows.
 */

export interface Sample {
  labels: Record<string, string>;
  value: number;
}

export interface HistogramSample {
  labels: Record<string, string>;
  bounds: readonly number[];
  totals: HistogramTotals;
}

interface BaseSeries {
  name: string;
  help: string;
  labelNames: string[];
}

export interface ScalarSeries extends BaseSeries {
  type: 'gauge' | 'counter';
  collect(s: ScrapeSources): Promise<Sample[]>;
}

export interface HistogramSeries extends BaseSeries {
  type: 'histogram';
  collect(s: ScrapeSources): Promise<HistogramSample[]>;
}

export type SeriesDefinition = ScalarSeries | HistogramSeries;

/** The job counters, for queues that exist. */
async function jobTotals(s: ScrapeSources) {
  const [totals, queues] = await Promise.all([s.counters(), s.queues()]);
  const known = new Set(queues);
  return totals.jobs.filter((j) => known.has(j.queue));
}

const queueSeries: SeriesDefinition[] = [
  {
    name: 'bullmq_job_count',
    type: 'gauge',
    help: 'Number of jobs in the queue by state',
    labelNames: ['queue', 'state'],
    async collect(s) {
      return (await s.queueCounts()).flatMap((q) => JOB_STATES.map((state) => ({ labels: { queue: q.queue, state }, value: q.states[state] })));
    },
  },
  {
    name: 'rqctl_queue_oldest_ready_seconds',
    type: 'gauge',
    help: 'Age of the oldest job ready to run (waiting, prioritized or due delayed), seconds; 0 with no backlog',
    labelNames: ['queue'],
    async collect(s) {
      return (await s.backlog()).map((q) => ({ labels: { queue: q.name }, value: (q.oldestWaitMs ?? 0) / 1000 }));
    },
  },
  {
    name: 'rqctl_jobs_completed_total',
    type: 'counter',
    help: 'Jobs completed by rqctl workers, since the counters were first written',
    labelNames: ['queue', 'name'],
    async collect(s) {
      return (await jobTotals(s)).map((j) => ({ labels: { queue: j.queue, name: j.name }, value: j.completed }));
    },
  },
  {
    name: 'rqctl_jobs_failed_total',
    type: 'counter',
    help: 'Failed job attempts in rqctl workers (a retried job counts once per failed attempt)',
    labelNames: ['queue', 'name'],
    async collect(s) {
      return (await jobTotals(s)).map((j) => ({ labels: { queue: j.queue, name: j.name }, value: j.failed }));
    },
  },
  {
    name: 'rqctl_job_duration_seconds',
    type: 'histogram',
    help: 'Run time of job attempts in rqctl workers, seconds',
    labelNames: ['queue', 'name'],
    async collect(s) {
      return (await jobTotals(s)).map((j) => ({ labels: { queue: j.queue, name: j.name }, bounds: DURATION_BUCKETS, totals: j.duration }));
    },
  },
  {
    name: 'rqctl_job_wait_seconds',
    type: 'histogram',
    help: 'Time from a job being ready (added, plus its delay) to its start in an rqctl worker, seconds',
    labelNames: ['queue', 'name'],
    async collect(s) {
      return (await jobTotals(s)).map((j) => ({ labels: { queue: j.queue, name: j.name }, bounds: WAIT_BUCKETS, totals: j.wait }));
    },
  },
  {
    name: 'rqctl_workers',
    type: 'gauge',
    help: 'Live rqctl workers (fresh heartbeats) consuming the queue',
    labelNames: ['queue'],
    async collect(s) {
      const [queues, workers] = await Promise.all([s.queues(), s.workers()]);
      return queues.map((queue) => ({ labels: { queue }, value: workers.filter((w) => w.queues.includes(queue)).length }));
    },
  },
];

const scheduleSeries: SeriesDefinition[] = [
  {
    name: 'rqctl_schedule_last_run_timestamp_seconds',
    type: 'gauge',
    help: "Start of a schedule entry's last run (unix seconds), labelled with its outcome",
    labelNames: ['entry', 'outcome'],
    async collect(s) {
      return (await s.schedule()).flatMap((e) =>
        e.lastRun ? [{ labels: { entry: e.name, outcome: e.lastRun.status }, value: Date.parse(e.lastRun.at) / 1000 }] : [],
      );
    },
  },
  {
    name: 'rqctl_scheduler_heartbeat_age_seconds',
    type: 'gauge',
    help: 'Seconds since any scheduler last wrote its heartbeat (+Inf when none did in the last 24 h)',
    labelNames: [],
    async collect(s) {
      const at = await s.lastSchedulerBeat();
      return [{ labels: {}, value: at === undefined ? Infinity : Math.max(0, (s.now - at) / 1000) }];
    },
  },
];

const providerAndCacheSeries: SeriesDefinition[] = [
  {
    name: 'rqctl_provider_requests_total',
    type: 'counter',
    help: 'Requests of the fetch jobs to market-data providers, by status class (2xx, 4xx, 429, 5xx, error = no answer)',
    labelNames: ['provider', 'status'],
    async collect(s) {
      return (await s.counters()).providers.map((p) => ({ labels: { provider: p.provider, status: p.status }, value: p.requests }));
    },
  },
  {
    name: 'rqctl_cache_keys',
    type: 'gauge',
    help: 'Cache keys per key family (a SCAN at most every 5 minutes, shared by every exporter)',
    labelNames: ['family'],
    async collect(s) {
      const c = await s.cacheKeys();
      return c ? Object.entries(c.value).map(([family, value]) => ({ labels: { family }, value })) : [];
    },
  },
  {
    name: 'rqctl_cache_keys_computed_timestamp_seconds',
    type: 'gauge',
    help: 'When rqctl_cache_keys was last counted (unix seconds)',
    labelNames: [],
    async collect(s) {
      const c = await s.cacheKeys();
      return c ? [{ labels: {}, value: c.at / 1000 }] : [];
    },
  },
];

/**
 * A provider's limits by window, the `window` label in seconds (`60`, `1`, `0.5`). Two limits on one
 * window would be one series: the stricter one is reported.
 */
function limitsByWindow(p: ProviderLimitStatus): { labels: Record<string, string>; max: number; used: number }[] {
  const byWindow = new Map<string, { max: number; used: number }>();
  for (const l of p.limits) {
    const window = String(l.windowMs / 1000);
    const seen = byWindow.get(window);
    if (!seen || l.max < seen.max) byWindow.set(window, { max: l.max, used: l.used });
  }
  return [...byWindow].map(([window, l]) => ({ labels: { provider: p.name, window }, ...l }));
}

/** One gauge per provider and limit window: the limit (`max`) or its use in the current window (`used`). */
function limitWindowSeries(name: string, help: string, field: 'max' | 'used'): SeriesDefinition {
  return {
    name,
    type: 'gauge',
    help,
    labelNames: ['provider', 'window'],
    async collect(s) {
      return (await s.providerLimits()).flatMap(limitsByWindow).map((l) => ({ labels: l.labels, value: l[field] }));
    },
  };
}

/** The provider rate limits as `rqctl limits` shows them (docs/rate-limits.md), from one status read per scrape. */
const limitSeries: SeriesDefinition[] = [
  limitWindowSeries(
    'rqctl_provider_limit',
    'Requests a provider rate limit allows in any window of the labelled length in seconds (limits: in the configuration)',
    'max',
  ),
  limitWindowSeries('rqctl_provider_limit_used', 'Requests started in the current window of a provider rate limit, by every client of the budget', 'used'),
  {
    name: 'rqctl_provider_paused_seconds',
    type: 'gauge',
    help: 'Seconds left of the pause of a provider after an HTTP 429 (0 when not paused)',
    labelNames: ['provider'],
    async collect(s) {
      return (await s.providerLimits()).map((p) => ({
        labels: { provider: p.name },
        value: p.pausedUntil ? Math.max(0, Date.parse(p.pausedUntil) - s.now) / 1000 : 0,
      }));
    },
  },
  {
    name: 'rqctl_provider_throttled_last_hour',
    type: 'gauge',
    help: "Permits a provider's budget refused in the last hour (every client's)",
    labelNames: ['provider'],
    async collect(s) {
      return (await s.providerLimits()).map((p) => ({ labels: { provider: p.name }, value: p.throttled1h }));
    },
  },
  {
    name: 'rqctl_provider_http429_last_hour',
    type: 'gauge',
    help: "HTTP 429 answers reported to a provider's budget in the last hour (every client's)",
    labelNames: ['provider'],
    async collect(s) {
      return (await s.providerLimits()).map((p) => ({ labels: { provider: p.name }, value: p.http429_1h }));
    },
  },
];

type InfoField = 'usedMemory' | 'maxmemory' | 'evictedKeys' | 'keyspaceHits' | 'keyspaceMisses';

function infoSeries(name: string, type: 'gauge' | 'counter', help: string, field: InfoField): SeriesDefinition {
  return {
    name,
    type,
    help,
    labelNames: ['role'],
    async collect(s) {
      return [...(await s.roleStats())].map(([role, st]) => ({ labels: { role }, value: st[field] }));
    },
  };
}

const redisSeries: SeriesDefinition[] = [
  {
    name: 'rqctl_redis_up',
    type: 'gauge',
    help: "1 when the role's Redis answered INFO, else 0",
    labelNames: ['role'],
    async collect(s) {
      const stats = await s.roleStats();
      return s.roles().map((role) => ({ labels: { role }, value: stats.has(role) ? 1 : 0 }));
    },
  },
  infoSeries('rqctl_redis_used_memory_bytes', 'gauge', "Memory used by the role's server (INFO used_memory)", 'usedMemory'),
  infoSeries('rqctl_redis_maxmemory_bytes', 'gauge', "The role's server maxmemory (0 = no limit)", 'maxmemory'),
  infoSeries('rqctl_redis_evicted_keys_total', 'counter', "Keys evicted by the role's server since it started", 'evictedKeys'),
  infoSeries('rqctl_redis_keyspace_hits_total', 'counter', "Successful key lookups on the role's server since it started", 'keyspaceHits'),
  infoSeries('rqctl_redis_keyspace_misses_total', 'counter', "Failed key lookups on the role's server since it started", 'keyspaceMisses'),
];

/** Needs the queue role (everything but the INFO series). */
export const QUEUE_ROLE_SERIES = new Set([...queueSeries, ...scheduleSeries, ...providerAndCacheSeries, ...limitSeries].map((d) => d.name));

export const SERIES: SeriesDefinition[] = [...queueSeries, ...scheduleSeries, ...providerAndCacheSeries, ...limitSeries, ...redisSeries];
