import type { ProviderStatus } from '../jobs/types.js';
import type { RedisClient } from '../redis/connect.js';
import { withTimeout } from '../util/timeout.js';
import { boundLabel, bucketIndex, DURATION_BUCKETS, metricsKeys, MINUTE_TTL_S, PROVIDER_STATUSES, WAIT_BUCKETS, type MetricsKeys } from './keys.js';

/** At most one round trip a second per worker (docs/metrics.md). */
export const FLUSH_INTERVAL_MS = 1000;

/**
 * One (queue, job name) pair's counts since the last flush. Every field name is built once, here, so
 * counting a job is a few integer additions on objects that already exist: no allocation, no lookup
 * beyond two Map gets, no Redis call.
 */
class Series {
  completed = 0;
  failed = 0;
  durationSumMs = 0;
  waitSumMs = 0;
  /** Something to flush. */
  dirty = false;
  readonly durations = new Uint32Array(DURATION_BUCKETS.length + 1);
  readonly waits = new Uint32Array(WAIT_BUCKETS.length + 1);
  readonly completedField: string;
  readonly failedField: string;
  readonly durationSumField: string;
  readonly waitSumField: string;
  readonly durationFields: string[];
  readonly waitFields: string[];

  constructor(queue: string, name: string) {
    const id = `${queue}:${name}`;
    this.completedField = `c:${id}`;
    this.failedField = `f:${id}`;
    this.durationSumField = `ds:${id}`;
    this.waitSumField = `ws:${id}`;
    this.durationFields = Array.from(this.durations, (_, i) => `d:${boundLabel(DURATION_BUCKETS, i)}:${id}`);
    this.waitFields = Array.from(this.waits, (_, i) => `w:${boundLabel(WAIT_BUCKETS, i)}:${id}`);
  }

  observe(durationMs: number | undefined, waitMs: number | undefined): void {
    this.dirty = true;
    if (durationMs !== undefined && durationMs >= 0) {
      this.durations[bucketIndex(DURATION_BUCKETS, durationMs)]++;
      this.durationSumMs += durationMs;
    }
    if (waitMs !== undefined && waitMs >= 0) {
      this.waits[bucketIndex(WAIT_BUCKETS, waitMs)]++;
      this.waitSumMs += waitMs;
    }
  }

  /** Moves the counts into `batch` (field → increment) and starts again from zero. */
  drainInto(batch: Map<string, number>): void {
    add(batch, this.completedField, this.completed);
    add(batch, this.failedField, this.failed);
    add(batch, this.durationSumField, this.durationSumMs);
    add(batch, this.waitSumField, this.waitSumMs);
    for (let i = 0; i < this.durations.length; i++) add(batch, this.durationFields[i], this.durations[i]);
    for (let i = 0; i < this.waits.length; i++) add(batch, this.waitFields[i], this.waits[i]);
    this.completed = this.failed = this.durationSumMs = this.waitSumMs = 0;
    this.durations.fill(0);
    this.waits.fill(0);
    this.dirty = false;
  }
}

function add(batch: Map<string, number>, field: string, n: number): void {
  if (n !== 0) batch.set(field, (batch.get(field) ?? 0) + n);
}

/** One queue's series: one per job type of the registry, and `other` for any other name. */
class QueueSeries {
  readonly byName = new Map<string, Series>();
  readonly other: Series;
  readonly completedMinuteField: string;
  readonly failedMinuteField: string;

  constructor(
    readonly queue: string,
    names: readonly string[],
  ) {
    for (const n of names) this.byName.set(n, new Series(queue, n));
    this.other = new Series(queue, 'other');
    this.completedMinuteField = `c:${queue}`;
    this.failedMinuteField = `f:${queue}`;
  }

  of(name: string): Series {
    return this.byName.get(name) ?? this.other;
  }

  *all(): Iterable<Series> {
    yield* this.byName.values();
    yield this.other;
  }
}

export interface CounterStoreOptions {
  /** The queue role, where the counters are kept. */
  client: RedisClient;
  queuePrefix: string;
  /** The queues this worker consumes. */
  queues: readonly string[];
  /** The job types it knows (the registry): any other job name counts as `other`. */
  jobNames: readonly string[];
  /** A flush that failed (Redis unreachable): its counts are kept and sent with the next one. */
  onError?: (e: Error) => void;
}

/**
 * A worker's counters and histograms (docs/metrics.md), counted in memory per job and sent to the
 * queue role at most once a second in one MULTI of HINCRBYs: cumulative, so a restarted worker loses
 * nothing already sent and every exporter sums the same numbers. Modelled on Sidekiq's
 * lib/sidekiq/metrics/tracking.rb. A flush that fails keeps its counts for the next one.
 */
export class CounterStore {
  private readonly keys: MetricsKeys;
  private readonly queues = new Map<string, QueueSeries>();
  private readonly providers = new Map<string, Uint32Array>();
  private readonly providerFields = new Map<string, string[]>();
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  /** Counts of a flush that failed, sent with the next one. */
  private carry = new Map<string, number>();
  private carryMinute = new Map<string, number>();

  constructor(private readonly options: CounterStoreOptions) {
    this.keys = metricsKeys(options.queuePrefix);
    for (const q of options.queues) this.queues.set(q, new QueueSeries(q, options.jobNames));
  }

  start(): void {
    this.timer = setInterval(() => void this.flush(), FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  /** BullMQ recorded a completed job. Durations in ms; undefined when unknown (a job this worker did not begin). */
  completed(queue: string, name: string, durationMs: number | undefined, waitMs: number | undefined): void {
    const s = this.queue(queue).of(name);
    s.completed++;
    s.observe(durationMs, waitMs);
  }

  /** BullMQ recorded a failed attempt. */
  failed(queue: string, name: string, durationMs: number | undefined, waitMs: number | undefined): void {
    const s = this.queue(queue).of(name);
    s.failed++;
    s.observe(durationMs, waitMs);
  }

  /** A fetch job's request to a provider got an answer of this class (or none: `error`). */
  providerRequest(provider: string, status: ProviderStatus): void {
    let counts = this.providers.get(provider);
    if (!counts) {
      // Providers are a fixed few (coingecko, finnhub): made once each.
      counts = new Uint32Array(PROVIDER_STATUSES.length);
      this.providers.set(provider, counts);
      this.providerFields.set(
        provider,
        PROVIDER_STATUSES.map((st) => `p:${st}:${provider}`),
      );
    }
    counts[PROVIDER_STATUSES.indexOf(status)]++;
  }

  /** Sends what was counted since the last flush; waits for one already under way instead of overlapping it. */
  flush(): Promise<void> {
    this.inFlight ??= this.send().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  /** No more timed flushes; sends what is left (bounded: Redis may be gone). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await withTimeout(
      (async () => {
        await this.inFlight;
        await this.flush();
      })(),
      2000,
    ).catch(() => {});
  }

  private queue(name: string): QueueSeries {
    let q = this.queues.get(name);
    if (!q) this.queues.set(name, (q = new QueueSeries(name, this.options.jobNames)));
    return q;
  }

  private drain(): { counters: Map<string, number>; minute: Map<string, number> } {
    const counters = this.carry;
    const minute = this.carryMinute;
    this.carry = new Map();
    this.carryMinute = new Map();
    for (const q of this.queues.values()) {
      for (const s of q.all()) {
        if (!s.dirty) continue;
        add(minute, q.completedMinuteField, s.completed);
        add(minute, q.failedMinuteField, s.failed);
        s.drainInto(counters);
      }
    }
    for (const [provider, counts] of this.providers) {
      const fields = this.providerFields.get(provider)!;
      for (let i = 0; i < counts.length; i++) add(counters, fields[i], counts[i]);
      counts.fill(0);
    }
    return { counters, minute };
  }

  private async send(): Promise<void> {
    const { counters, minute } = this.drain();
    if (counters.size === 0 && minute.size === 0) return;
    const minuteKey = this.keys.minute(Math.floor(Date.now() / 60_000));
    const tx = this.options.client.multi();
    for (const [field, n] of counters) tx.hincrby(this.keys.counters, field, n);
    if (minute.size) {
      for (const [field, n] of minute) tx.hincrby(minuteKey, field, n);
      tx.expire(minuteKey, MINUTE_TTL_S);
    }
    try {
      const res = await tx.exec();
      const err = res?.find(([e]) => e)?.[0];
      if (!res || err) throw err ?? new Error('the transaction was aborted');
    } catch (e) {
      // Kept for the next flush. (A reply lost after Redis applied it would count twice: rare, and
      // better than losing a second of counts on every blip.)
      for (const [f, n] of counters) add(this.carry, f, n);
      for (const [f, n] of minute) add(this.carryMinute, f, n);
      this.options.onError?.(e as Error);
    }
  }
}
