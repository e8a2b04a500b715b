import type { Config } from '../config/resolve.js';
import type { RedisClient } from '../redis/connect.js';
import { execPipeline } from '../redis/pipeline.js';

/**
 * BullMQ's own per-minute metrics of finished jobs (what `rqctl worker` records with
 * `metrics.maxDataPoints`; docs/dashboard.md). Read with the same two commands as BullMQ's
 * `getMetrics` script, for every queue in one pipeline: never a job list.
 *
 * BullMQ keeps, per queue and type, a hash `<prefix>:<queue>:metrics:<type>` (count, prevTS, prevCount)
 * and a list `…:data` of per-minute counts, newest first. A worker pushes the closed minutes only
 * when it finishes the next job, so:
 *   - `data[i]` counts the minute `floor(prevTS / 60 000) - 1 - i`;
 *   - `count - prevCount` are the jobs of the minute of `prevTS` itself (not pushed yet);
 *   - every minute after that had no job (no worker pushed anything since).
 */

export const METRIC_TYPES = ['completed', 'failed'] as const;
export type MetricType = (typeof METRIC_TYPES)[number];

/** Jobs per minute, oldest first; the last entry is the current (unfinished) minute. */
export type PerMinute = Record<MetricType, number[]>;

export interface JobMetrics {
  /** The first minute of every series, as a Unix time in seconds. */
  start: number;
  minutes: number;
  queues: Map<string, PerMinute>;
}

const MINUTE = 60_000;

/** Maps BullMQ's (meta, data) onto the `minutes` minutes that end with the current one. */
export function perMinute(meta: (string | null)[], data: string[], minutes: number, nowMinute: number): number[] {
  const out = new Array<number>(minutes).fill(0);
  const prevTS = Number(meta[1]);
  if (!meta[1] || !Number.isFinite(prevTS)) return out;
  const last = Math.floor(prevTS / MINUTE);
  const first = nowMinute - minutes + 1;
  for (let i = 0; i < minutes; i++) {
    const minute = first + i;
    if (minute === last) out[i] = Math.max(0, Number(meta[0] ?? 0) - Number(meta[2] ?? 0));
    else if (minute < last) out[i] = Number(data[last - 1 - minute] ?? 0) || 0;
  }
  return out;
}

export async function readJobMetrics(config: Config, client: RedisClient, names: readonly string[], minutes: number, now = Date.now()): Promise<JobMetrics> {
  const nowMinute = Math.floor(now / MINUTE);
  const pipe = client.pipeline();
  for (const q of names) {
    for (const type of METRIC_TYPES) {
      const key = `${config.queue.prefix}:${q}:metrics:${type}`;
      // The data list only holds minutes before prevTS: `minutes` entries cover the window.
      pipe.hmget(key, 'count', 'prevTS', 'prevCount').lrange(`${key}:data`, 0, minutes - 1);
    }
  }
  const replies = (await execPipeline(pipe)).map(([err, v]) => (err ? null : v));
  const queues = new Map<string, PerMinute>();
  let at = 0;
  for (const q of names) {
    const series = {} as PerMinute;
    for (const type of METRIC_TYPES) {
      const meta = (replies[at++] as (string | null)[] | null) ?? [];
      const data = (replies[at++] as string[] | null) ?? [];
      series[type] = perMinute(meta, data, minutes, nowMinute);
    }
    queues.set(q, series);
  }
  return { start: (nowMinute - minutes + 1) * 60, minutes, queues };
}
