import { DelayedError, type Job } from 'bullmq';
import type { Config } from '../config/resolve.js';
import { formatRateLimit, type RateLimit } from '../config/rate-limits.js';
import type { RedisClient } from '../redis/connect.js';
import { scriptOn, type ScriptRunner } from './script.js';

/**
 * Provider rate limits kept in the queue role (docs/rate-limits.md): one budget per provider for
 * every worker on every host, taken one Redis round trip per request. A refused job is put back,
 * delayed until its turn, without sleeping in a worker slot and without using an attempt.
 *
 * Keys, under the queue prefix like every control key (on a Redis Cluster the prefix carries a hash
 * tag, so one provider's keys, and the job hashes the 429 counter touches, share one slot):
 *   <prefix>:rqctl:limits:<provider>:log | :waiting | :paused | :stats
 */
export function limitKeys(queuePrefix: string, provider: string): [log: string, waiting: string, paused: string, stats: string] {
  const base = `${queuePrefix}:rqctl:limits:${provider}`;
  return [`${base}:log`, `${base}:waiting`, `${base}:paused`, `${base}:stats`];
}

/**
 * A job that gets HTTP 429 is delayed until the provider's pause ends without using an attempt, this
 * many times; after that each 429 uses an attempt, so a provider that answers 429 forever still
 * fails the job after its tries (Sidekiq's limiter reschedules over-limit jobs a bounded number of
 * times in the same way). Counted in the job's hash, field JOB_429_FIELD.
 */
export const FREE_429_DELAYS = 10;
const JOB_429_FIELD = 'rqctl429';

export type PermitAnswer = { granted: true } | { granted: false; waitMs: number; by: string };

/** What a running job gives the limiter: the job (its lock token is `job.token`) and its log. */
export interface LimitedRun {
  job: Job;
  log(event: string, fields?: Record<string, unknown>): void;
}

export interface ProviderLimitStatus {
  name: string;
  limits: { max: number; windowMs: number; used: number }[];
  /** ISO time the pause after a 429 ends, or null. */
  pausedUntil: string | null;
  throttled1h: number;
  http429_1h: number;
}

/**
 * How long a lease's permits may be used, ms (the script caps it at each limit's arrival margin), and
 * the most permits one lease asks for. A worker doing about 3,000 requests a second to one provider
 * asks Redis about 50 times a second instead of 3,000 (bench row worker-limits, BENCHMARKS.md).
 */
const LEASE_MS = 25;
const MAX_LEASE = 64;

/**
 * Permits this process holds for one provider: a lease granted by the script (docs/rate-limits.md,
 * "Leases"). Each is logged in Redis as starting at the lease's end, so it must be used before
 * `until` or never; one that expires unused stays counted and is dropped here. The size asked for
 * follows demand: it doubles while requests outrun the lease and halves when a lease expires unused.
 */
class Lease {
  left = 0;
  /** performance.now() by which the permits must be used; also when demand last outran a lease. */
  until = 0;
  want = 1;
  /** The call to the script under way, if any: callers that find no permit wait for it first. */
  inflight: Promise<unknown> | undefined = undefined;

  take(): boolean {
    if (this.left === 0) return false;
    if (performance.now() < this.until) {
      this.left--;
      return true;
    }
    this.drop();
    this.want = Math.max(1, this.want >> 1);
    return false;
  }

  drop(): void {
    this.left = 0;
  }

  /** The size to ask for now: double when this demand came while the last lease was still good. */
  nextWant(now: number): number {
    if (now < this.until) this.want = Math.min(MAX_LEASE, this.want * 2);
    return this.want;
  }

  granted(reply: number[], sentAt: number): void {
    const [, g = 1, ms = LEASE_MS] = reply;
    this.left = g - 1;
    this.until = sentAt + ms;
  }
}

interface Budget {
  lease: Lease;
  limits: readonly RateLimit[];
  keys: string[];
  /** The script's arguments after the operation: n, max_1, windowMs_1, … */
  limitArgs: number[];
  /** A permit's whole call, built once: numkeys, the keys, 'take', the limits. */
  takeArgs: (string | number)[];
  longestMs: number;
}

const GRANTED: PermitAnswer = { granted: true };

export class ProviderLimits {
  private readonly budgets = new Map<string, Budget>();
  private runner: ScriptRunner | undefined;

  constructor(
    config: Pick<Config, 'limits' | 'queue'>,
    private readonly client: RedisClient,
  ) {
    for (const [provider, limits] of Object.entries(config.limits)) {
      const keys = limitKeys(config.queue.prefix, provider);
      const limitArgs = [limits.length, ...limits.flatMap((l) => [l.max, l.windowMs])];
      this.budgets.set(provider, {
        lease: new Lease(),
        limits,
        keys,
        limitArgs,
        takeArgs: [keys.length, ...keys, 'take', ...limitArgs],
        longestMs: Math.max(...limits.map((l) => l.windowMs)),
      });
    }
  }

  /**
   * One permit: granted (the request may start now), or how long until this caller's turn. `caller`
   * names the caller (the same id each time it asks for the same request) so that it keeps its place
   * in line; without it, it is only told when to ask again.
   */
  async take(provider: string, caller?: string): Promise<PermitAnswer> {
    const b = this.budgets.get(provider);
    if (!b) return GRANTED;
    return this.answer(b, await this.script()(...(b.takeArgs as [number, ...string[]]), caller ?? ''));
  }

  /**
   * Before a job's request: resolves when the budget grants it. Otherwise the job goes back to
   * `delayed` until its turn and this throws BullMQ's DelayedError, which the worker treats as
   * "not finished, not failed": no attempt used, the worker slot free at once.
   *
   * A permit comes from this process' lease when it holds one, else from one call to the script,
   * which may grant a lease of several (while nobody is throttled); one call at a time per provider.
   */
  async permit(run: LimitedRun, provider: string): Promise<void> {
    const b = this.budgets.get(provider);
    if (!b) return;
    const lease = b.lease;
    if (lease.take()) return;
    while (lease.inflight) {
      await lease.inflight;
      if (lease.take()) return;
    }
    // The job is the caller: it keeps its place in line from one run to the next.
    const sentAt = performance.now();
    const call = this.script()(...(b.takeArgs as [number, ...string[]]), `${run.job.queueQualifiedName}:${run.job.id}`, lease.nextWant(sentAt), LEASE_MS);
    lease.inflight = call;
    let reply: number[];
    try {
      reply = await call;
    } finally {
      lease.inflight = undefined;
    }
    const answer = this.answer(b, reply);
    if (answer.granted) {
      lease.granted(reply, sentAt);
      return;
    }
    run.log('throttled', { provider, by: answer.by, waitMs: answer.waitMs });
    await this.delay(run.job, answer.waitMs, `${provider}: over its rate limit (${answer.by}); runs again in ${answer.waitMs} ms`);
  }

  private answer(b: Budget, r: number[]): PermitAnswer {
    if (r[0] === 1) return GRANTED;
    return { granted: false, waitMs: r[1], by: r[2] === 0 ? 'paused after HTTP 429' : formatRateLimit(b.limits[r[2] - 1]) };
  }

  /**
   * After an HTTP 429 the provider is paused for every worker until its Retry-After (at least 1 s;
   * without one, the provider's longest window). The job goes back to `delayed` until then and this
   * throws DelayedError, unless the job already had its FREE_429_DELAYS: then it returns and the
   * caller fails the attempt as usual. A provider without limits is not paused: this returns.
   */
  async rateLimited(run: LimitedRun, provider: string, retryAfterMs: number | undefined): Promise<void> {
    const b = this.budgets.get(provider);
    if (!b) return;
    const job = run.job;
    const p = await this.pause(provider, retryAfterMs ?? b.longestMs, `${job.queueQualifiedName}:${job.id}`);
    const free = p.jobHttp429 <= FREE_429_DELAYS;
    run.log('rate-limited', { provider, pausedUntil: new Date(p.pausedUntil).toISOString(), retryAfterMs, delayed: free, http429: p.jobHttp429 });
    if (free) await this.delay(job, p.waitMs, `${provider} answered HTTP 429: paused for every worker; runs again in ${p.waitMs} ms`);
  }

  /**
   * Pauses the provider for every client for `ms` (at least 1 s; 0 only counts the 429) unless a
   * longer pause is in force, and counts the 429 for `rqctl limits` and, given a job's hash key, in
   * that job (JOB_429_FIELD).
   */
  async pause(provider: string, ms: number, jobKey?: string): Promise<{ pausedUntil: number; waitMs: number; jobHttp429: number }> {
    const b = this.budgets.get(provider);
    if (!b) return { pausedUntil: 0, waitMs: 0, jobHttp429: 0 };
    const ask = ms > 0 ? Math.max(1000, ms) : 0;
    // This process stops using what it holds at once; other processes within their lease (≤ 25 ms).
    if (ask > 0) b.lease.drop();
    const [pausedUntil, waitMs, jobHttp429] = jobKey
      ? await this.script()(5, b.keys, jobKey, 'pause', ask, JOB_429_FIELD)
      : await this.script()(4, b.keys, 'pause', ask);
    return { pausedUntil, waitMs, jobHttp429 };
  }

  /** `rqctl limits`: each provider's limits with their use in the current window, a pause, the last hour's throttles and 429s. */
  async status(): Promise<ProviderLimitStatus[]> {
    const budgets = [...this.budgets];
    const replies = await Promise.all(budgets.map(([, b]) => this.script()(4, b.keys, 'status', b.limitArgs)));
    return budgets.map(([name, b], i) => {
      const [pausedUntil, throttled1h, http429, ...used] = replies[i];
      return {
        name,
        limits: b.limits.map((l, j) => ({ max: l.max, windowMs: l.windowMs, used: used[j] })),
        pausedUntil: pausedUntil > 0 ? new Date(pausedUntil).toISOString() : null,
        throttled1h,
        http429_1h: http429,
      };
    });
  }

  private script(): ScriptRunner {
    this.runner ??= scriptOn(this.client);
    return this.runner;
  }

  private async delay(job: Job, waitMs: number, message: string): Promise<never> {
    // BullMQ keeps attemptsMade as it is (skipAttempt) and frees the lock; the delay is relative.
    await job.moveToDelayed(Date.now() + waitMs, job.token);
    throw new DelayedError(message);
  }
}
