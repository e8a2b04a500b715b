import type { Role } from '../../config/endpoints.js';
import type { ProviderLimitStatus } from '../../limits/provider-limits.js';

/**
 * `GET /api/overview`: the overview page's data as one JSON document (docs/dashboard.md). The page
 * renders exactly this. Every section carries its own `error` so one unreachable server never hides
 * the rest.
 */
export interface Overview {
  /** Bumped when a field changes meaning or goes away. */
  version: 1;
  generatedAt: string;
  /** How long collecting took, ms. */
  tookMs: number;
  dashboard: { readOnly: boolean; refreshSeconds: number; rqctlVersion: string };
  /** The queue role answers: the same verdict as /healthz. */
  redis: { ok: boolean; error: string | null };
  roles: RoleView[];
  workers: WorkerView[];
  /** Workers' heartbeats could not be read (queue role down); null when fine. */
  workersError: string | null;
  queues: QueueView[];
  queuesError: string | null;
  charts: Charts;
  /** The provider rate limits, as `rqctl limits --json` gives them (docs/rate-limits.md). */
  limits: ProviderLimitStatus[];
  limitsError: string | null;
  schedule: Section<{ entries: ScheduleEntryView[] }>;
  cache: Section<CacheView>;
  doctor: Section<{ checks: DoctorCheckView[] }>;
}

/** A section read less often than the page refreshes (a SCAN, the doctor): when it was read. */
export type Section<T> = (T & { at: string; error: null }) | { at: string | null; error: string };

export interface RoleView {
  role: Role;
  url: string;
  reachable: boolean;
  error: string | null;
  /** Round trip of a PING, ms. */
  latencyMs: number | null;
  version: string | null;
  usedMemory: number | null;
  /** 0 = no limit. */
  maxmemory: number | null;
  maxmemoryPolicy: string | null;
  evictedKeys: number | null;
  hitRatio: number | null;
  /** Keys in the role's DB. */
  keys: number | null;
  aof: { enabled: boolean; lastWriteStatus: string | null } | null;
  uptimeSeconds: number | null;
}

export interface WorkerView {
  id: string;
  name: string;
  host: string;
  pid: number;
  queues: string[];
  concurrency: number;
  running: number;
  done: number;
  failed: number;
  started: string;
  lastSeen: string;
  /** No heartbeat for longer than two heartbeat intervals: the process is probably gone. */
  stale: boolean;
}

export interface QueueView {
  name: string;
  waiting: number;
  active: number;
  delayed: number;
  prioritized: number;
  waitingChildren: number;
  completed: number;
  failed: number;
  isPaused: boolean;
  /** Jobs ready to run and not running (wait + prioritized + delayed jobs already due). */
  backlog: number;
  /** How long the oldest ready job has waited, ms; null with no backlog. */
  oldestReadyMs: number | null;
  /** Live workers consuming this queue. */
  workers: number;
}

/** One time axis and a series per queue; values are jobs per minute (null: not sampled). */
export interface TimeSeries {
  /** Unix seconds of each point. */
  times: number[];
  stepSeconds: number;
  series: { queue: string; completed: number[]; failed: number[] }[];
}

export interface Charts {
  /** Per minute, the last 60 minutes (the last point is the current minute). */
  hour: TimeSeries;
  /** Per 10 minutes (average jobs per minute), the last 24 hours. */
  day: TimeSeries & { at: string | null };
  /** Backlog per queue as sampled by this dashboard over the last hour. */
  backlog: { times: number[]; series: { queue: string; values: (number | null)[] }[] };
  error: string | null;
}

export interface ScheduleEntryView {
  name: string;
  kind: 'job' | 'command';
  schedule: string;
  timezone: string;
  target: string;
  queue: string | null;
  next: string | null;
  lastRun: { at: string; status: string; durationMs: number | null; error: string | null } | null;
  /** Job entries: whether Redis holds the job scheduler as configured (null: unknown or a command). */
  synced: boolean | null;
}

export interface CacheView {
  prefix: string;
  totalKeys: number;
  keysWithoutTtl: number;
  families: {
    family: string;
    keys: number;
    noTtl: number;
    duration: number | null;
    ttl: { min: number; max: number; mean: number } | null;
    buckets: Record<string, number> | null;
  }[];
  hitRatio: number | null;
  evictedKeys: number;
  usedMemory: number;
  maxmemory: number;
  maxmemoryPolicy: string | null;
}

export interface DoctorCheckView {
  id: string;
  status: 'ok' | 'warn' | 'fail';
  message: string;
  fix: string | null;
}
