import type { Job } from 'bullmq';
import type { ZodType } from 'zod';
import type { Config } from '../config/resolve.js';
import type { ProviderLimits } from '../limits/provider-limits.js';
import type { RedisClient } from '../redis/connect.js';

/** What a running job may use. Opened once per worker, shared by its jobs. */
export interface JobContext {
  config: Config;
  /** Fires when the job's timeout (the type's own, capped by worker --timeout) runs out. A graceful stop lets running jobs finish. */
  signal: AbortSignal;
  /** The BullMQ job (id, attemptsMade, parent/children for flows, updateProgress; its lock token is `job.token`). */
  job: Job;
  redis: {
    /** The queue role: raffles, rqctl's control keys. */
    queue: RedisClient;
    /** The cache role: fetch results. */
    cache: RedisClient;
  };
  /**
   * Provider rate limits (`limits:` in the config, docs/rate-limits.md): `await ctx.limits.permit(ctx, 'myapi')`
   * before each request; shared by the worker's jobs.
   */
  limits: ProviderLimits;
  /** One structured log line (the worker adds job id, name and duration). */
  log(event: string, fields?: Record<string, unknown>): void;
  /** The worker's metrics counters (docs/metrics.md); absent with `metrics.counters: false` or outside a worker. */
  metrics?: JobMetrics;
}

/** The status class of a provider request: its HTTP status, or `error` when no answer came (timeout, network). */
export type ProviderStatus = '2xx' | '4xx' | '429' | '5xx' | 'error';

/** What a job may count; the worker batches it into Redis with its own counters. */
export interface JobMetrics {
  providerRequest(provider: string, status: ProviderStatus): void;
}

/**
 * A job type: everything the worker, `dispatch`, `jobs` and the scheduler need to know. The BullMQ
 * job name is `name`. Payloads are validated with `schema` at dispatch (exit 2, nothing enqueued) and
 * again in the worker (an invalid payload fails at once, without retries).
 */
export interface JobType<P = unknown> {
  name: string;
  /** `default`, except SendEmail on `emails`. */
  queue: string;
  description: string;
  /** For method-style jobs (FetchCryptoData getCryptoList …): the methods, as `rqctl jobs` lists them. */
  methods?: readonly string[];
  schema: ZodType<P>;
  /** Attempts; undefined = the worker's --tries (default 3). */
  tries?: number;
  /** Fixed backoff in seconds; undefined = the worker's --backoff (default 60). */
  backoff?: number;
  /** Seconds; undefined = the worker's --timeout (default 300). */
  timeout?: number;
  /**
   * Builds the payload from `rqctl dispatch <Job> [method] --param k=v [--data JSON]`: `data` is the
   * parsed --data (or undefined); the result is validated with `schema`, which coerces command-line
   * strings to the declared param types. Default: `{...data, ...params}`.
   */
  fromCli?(method: string | undefined, params: Record<string, string>, data?: unknown): unknown;
  process(payload: P, ctx: JobContext): Promise<unknown>;
  /**
   * `process` for a payload already validated with `schema` (the worker validates every payload
   * before it runs a job): set by `defineJob`, whose `process` validates again for direct callers.
   */
  processParsed?(payload: P, ctx: JobContext): Promise<unknown>;
}
