import type { ProviderStatus } from '../jobs/types.js';

/**
 * Where the metrics live in the QUEUE role (docs/metrics.md), under `<queue prefix>:rqctl:metrics`,
 * so on a cluster they share the prefix's hash tag with the queues and one MULTI can span them.
 *
 *   <base>:counters            hash, cumulative since the first worker wrote it (never reset):
 *                                c:<queue>:<name>                 completed jobs
 *                                f:<queue>:<name>                 failed attempts
 *                                d:<le>:<queue>:<name>            run times in the bucket ending at <le> seconds (not cumulative; `+Inf` last)
 *                                ds:<queue>:<name>                sum of run times, milliseconds
 *                                w:<le>:<queue>:<name>, ws:…      the same for waits (ready → started)
 *                                p:<status>:<provider>            provider requests by status class
 *   <base>:minute:<epochMinute> hash c:<queue> / f:<queue>: the same completions and failures per minute, kept 2 h (alerts)
 *   <base>:cache-keys           JSON {at, families}: the last count of cache keys per family (SCAN, at most every 5 min)
 *   <base>:queues               JSON {at, queues}: the last queue discovery (SCAN, at most every minute)
 *   <base>:lock:<what>          SET NX PX: the exporter that recomputes one of the two above
 *
 * Queue names cannot hold `:` (BullMQ and `rqctl worker` refuse them), so a field splits
 * unambiguously with the job name last, whatever it holds.
 */
export interface MetricsKeys {
  counters: string;
  minute(epochMinute: number): string;
  cacheKeys: string;
  queues: string;
  lock(what: 'cache-keys' | 'queues'): string;
}

export function metricsKeys(queuePrefix: string): MetricsKeys {
  const base = `${queuePrefix}:rqctl:metrics`;
  return {
    counters: `${base}:counters`,
    minute: (m) => `${base}:minute:${m}`,
    cacheKeys: `${base}:cache-keys`,
    queues: `${base}:queues`,
    lock: (what) => `${base}:lock:${what}`,
  };
}

/** How long a per-minute hash is kept: alerts read the last 5 minutes; the rest is margin. */
export const MINUTE_TTL_S = 7200;

/**
 * Bucket upper bounds, seconds. Fixed: every worker and exporter agrees on them, and a bound that
 * a later version drops still adds up (the exporter folds it into the next larger one).
 */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600] as const;
export const WAIT_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 21600, 86400] as const;

/** The provider status classes of rqctl_provider_requests_total. */
export const PROVIDER_STATUSES: readonly ProviderStatus[] = ['2xx', '4xx', '429', '5xx', 'error'];

/** The bucket index of a value in ms: the first bound ≥ the value, or the +Inf bucket (bounds.length). */
export function bucketIndex(bounds: readonly number[], ms: number): number {
  const s = ms / 1000;
  for (let i = 0; i < bounds.length; i++) if (s <= bounds[i]) return i;
  return bounds.length;
}

/** A bound as it appears in a field: `0.005`, `+Inf`. */
export function boundLabel(bounds: readonly number[], i: number): string {
  return i < bounds.length ? String(bounds[i]) : '+Inf';
}
