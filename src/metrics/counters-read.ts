import type { RedisClient } from '../redis/connect.js';
import { execPipeline } from '../redis/pipeline.js';
import { DURATION_BUCKETS, metricsKeys, WAIT_BUCKETS } from './keys.js';

/**
 * The exporter's side of the workers' counters (counter-store.ts): one HGETALL of the cumulative
 * hash, parsed into series. Every exporter reads the same hash, so any two give the same numbers.
 */

export interface HistogramTotals {
  /** Observations per bucket, not cumulative, in the order of the bounds, then +Inf. */
  buckets: number[];
  sumSeconds: number;
  count: number;
}

export interface JobTotals {
  queue: string;
  name: string;
  completed: number;
  failed: number;
  duration: HistogramTotals;
  wait: HistogramTotals;
}

export interface ProviderTotals {
  provider: string;
  status: string;
  requests: number;
}

export interface CounterTotals {
  jobs: JobTotals[];
  providers: ProviderTotals[];
}

const emptyHistogram = (bounds: readonly number[]): HistogramTotals => ({ buckets: new Array<number>(bounds.length + 1).fill(0), sumSeconds: 0, count: 0 });

/** A bound read back from a field; one a later version no longer has goes to the next larger bucket. */
function bucketOfBound(bounds: readonly number[], label: string): number {
  if (label === '+Inf') return bounds.length;
  const v = Number(label);
  const i = bounds.findIndex((b) => v <= b);
  return i === -1 ? bounds.length : i;
}

/** `queue:name` → [queue, name]; the queue has no colon, the name may. */
function split(rest: string): [string, string] | undefined {
  const i = rest.indexOf(':');
  return i <= 0 ? undefined : [rest.slice(0, i), rest.slice(i + 1)];
}

export async function readCounters(client: RedisClient, queuePrefix: string): Promise<CounterTotals> {
  const raw = await client.hgetall(metricsKeys(queuePrefix).counters);
  const jobs = new Map<string, JobTotals>();
  const providers: ProviderTotals[] = [];
  const jobOf = (queue: string, name: string): JobTotals => {
    const id = `${queue}:${name}`;
    let j = jobs.get(id);
    if (!j) jobs.set(id, (j = { queue, name, completed: 0, failed: 0, duration: emptyHistogram(DURATION_BUCKETS), wait: emptyHistogram(WAIT_BUCKETS) }));
    return j;
  };
  for (const [field, text] of Object.entries(raw)) {
    const n = Number(text);
    if (!Number.isFinite(n)) continue;
    const kind = field.slice(0, field.indexOf(':'));
    const rest = field.slice(kind.length + 1);
    if (kind === 'p') {
      const s = split(rest);
      if (s) providers.push({ status: s[0], provider: s[1], requests: n });
      continue;
    }
    if (kind === 'd' || kind === 'w') {
      const i = rest.indexOf(':');
      const s = split(rest.slice(i + 1));
      if (i <= 0 || !s) continue;
      const h = kind === 'd' ? jobOf(...s).duration : jobOf(...s).wait;
      h.buckets[bucketOfBound(kind === 'd' ? DURATION_BUCKETS : WAIT_BUCKETS, rest.slice(0, i))] += n;
      h.count += n;
      continue;
    }
    const s = split(rest);
    if (!s) continue;
    const j = jobOf(...s);
    if (kind === 'c') j.completed += n;
    else if (kind === 'f') j.failed += n;
    else if (kind === 'ds') j.duration.sumSeconds += n / 1000;
    else if (kind === 'ws') j.wait.sumSeconds += n / 1000;
  }
  const byLabels = <T extends { queue?: string; name?: string; provider?: string; status?: string }>(a: T, b: T) =>
    `${a.queue ?? a.provider}\u0000${a.name ?? a.status}`.localeCompare(`${b.queue ?? b.provider}\u0000${b.name ?? b.status}`);
  return { jobs: [...jobs.values()].sort(byLabels), providers: providers.sort(byLabels) };
}

/** Completions and failures per queue over the last `minutes` minutes (this one included), from the per-minute hashes. */
export async function recentCounts(
  client: RedisClient,
  queuePrefix: string,
  minutes: number,
  now = Date.now(),
): Promise<Map<string, { completed: number; failed: number }>> {
  const keys = metricsKeys(queuePrefix);
  const current = Math.floor(now / 60_000);
  const pipe = client.pipeline();
  for (let m = current - minutes + 1; m <= current; m++) pipe.hgetall(keys.minute(m));
  const out = new Map<string, { completed: number; failed: number }>();
  for (const [err, value] of await execPipeline(pipe)) {
    if (err) continue;
    for (const [field, text] of Object.entries(value as Record<string, string>)) {
      const queue = field.slice(2);
      const c = out.get(queue) ?? { completed: 0, failed: 0 };
      if (field.startsWith('c:')) c.completed += Number(text) || 0;
      else if (field.startsWith('f:')) c.failed += Number(text) || 0;
      out.set(queue, c);
    }
  }
  return out;
}
