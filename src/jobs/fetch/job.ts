import { z } from 'zod';
import type { Config } from '../../config/resolve.js';
import { ProviderError, providerGet, warmUpHttp } from '../../providers/http.js';
import { coingecko, finnhub } from '../../providers/market.js';
import { cleartextRemoteUrl } from '../../util/url.js';
import { defineJob, DEFAULT_BACKOFF_SECONDS, DEFAULT_TIMEOUT_SECONDS, DEFAULT_TRIES } from '../define.js';
import { toJobError } from '../retry.js';
import type { JobContext, JobType, ProviderStatus } from '../types.js';
import {
  cacheDuration,
  FETCH_METHODS,
  fetchCacheKey,
  findMethod,
  methodsOf,
  normalizeParams,
  requestOf,
  type FetchJobName,
  type ParamValue,
} from './methods.js';

export interface FetchPayload {
  method: string;
  params: Record<string, ParamValue>;
}

export interface FetchResult {
  key: string;
  bytes: number;
  ttl: number;
  status: number;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `{method, params}`: the method must be one of the job's, params are coerced and defaulted. */
export function fetchPayloadSchema(job: FetchJobName) {
  const methods = methodsOf(job);
  const list = methods.join(', ');
  return z
    .object({
      method: z.string({ error: `method is required (one of: ${list})` }),
      params: z.record(z.string(), z.unknown(), { error: 'params must be an object of name → value' }).optional(),
    })
    .transform((v, ctx): FetchPayload => {
      const method = findMethod(job, v.method);
      if (!method) {
        ctx.addIssue({ code: 'custom', path: ['method'], message: `unknown method "${v.method}" for ${job} (one of: ${list})` });
        return z.NEVER;
      }
      const r = normalizeParams(method, v.params ?? {});
      if (!r.ok) {
        for (const p of r.problems) ctx.addIssue({ code: 'custom', path: ['params', p.param], message: p.message });
        return z.NEVER;
      }
      return { method: method.name, params: r.params };
    });
}

/** The key and TTL a fetch payload writes (payload already validated). */
export function keyOf(config: Config, payload: FetchPayload): { key: string; family: string; ttl: number } {
  const method = FETCH_METHODS.get(payload.method)!;
  return { key: fetchCacheKey(config.cache.prefix, method, payload.params), family: method.family, ttl: cacheDuration(config, method) };
}

/** rqctl_provider_requests_total's status label (docs/metrics.md). */
function statusClass(status: number): ProviderStatus {
  if (status === 429) return '429';
  if (status >= 500) return '5xx';
  if (status >= 400) return '4xx';
  if (status >= 200 && status < 300) return '2xx';
  return 'error';
}

/** Base URLs already warned about in this process: the warning is once per process, not per job. */
const warnedCleartext = new Set<string>();

/**
 * One fetch: a permit from the provider's rate limit (docs/rate-limits.md), GET from the provider,
 * and on success `SET key body EX ttl` in the cache role with the body byte for byte. On any failure
 * nothing is written, so the last good value stays readable. Over the limit, or after a 429, the
 * job goes back to `delayed` (DelayedError) without using an attempt.
 */
async function runFetch(payload: FetchPayload, ctx: JobContext): Promise<FetchResult> {
  const method = FETCH_METHODS.get(payload.method)!;
  const endpoint = method.provider === 'coingecko' ? coingecko(ctx.config) : finnhub(ctx.config);
  if (!warnedCleartext.has(endpoint.baseUrl) && cleartextRemoteUrl(endpoint.baseUrl)) {
    warnedCleartext.add(endpoint.baseUrl);
    ctx.log('provider-cleartext', {
      level: 'warn',
      provider: endpoint.name,
      msg: `${endpoint.name} base URL ${endpoint.baseUrl} is http:// to another host: the API key and the responses cross the network in cleartext (use https://)`,
    });
  }
  const { key, ttl } = keyOf(ctx.config, payload);
  const { path, query } = requestOf(method, payload.params);
  await warmUpHttp();
  await ctx.limits.permit(ctx, method.provider);
  let res;
  try {
    res = await providerGet({
      provider: endpoint.name,
      baseUrl: endpoint.baseUrl,
      path,
      query,
      headers: endpoint.headers,
      timeoutMs: endpoint.timeoutMs,
      signal: ctx.signal,
    });
    ctx.metrics?.providerRequest(method.provider, statusClass(res.status));
  } catch (err) {
    ctx.metrics?.providerRequest(method.provider, err instanceof ProviderError && err.status !== undefined ? statusClass(err.status) : 'error');
    if (err instanceof ProviderError && err.status === 429) {
      // Waited out for every worker (no attempt used), unless it asks for over an hour (quota gone).
      if (err.retryable) await ctx.limits.rateLimited(ctx, method.provider, err.retryAfterMs);
      else await ctx.limits.pause(method.provider, 0);
    }
    throw toJobError(err, ctx.job);
  }
  await ctx.redis.cache.set(key, res.body, 'EX', ttl);
  ctx.log('cached', { key, bytes: res.body.length, ttl });
  return { key, bytes: res.body.length, ttl, status: res.status };
}

function fetchJob(name: FetchJobName, provider: string): JobType<FetchPayload> {
  const methods = methodsOf(name);
  return defineJob({
    name,
    queue: 'default',
    description: `fetch ${provider} market data into the cache (${methods.length} methods)`,
    methods,
    schema: fetchPayloadSchema(name),
    tries: DEFAULT_TRIES,
    backoff: DEFAULT_BACKOFF_SECONDS,
    timeout: DEFAULT_TIMEOUT_SECONDS,
    // `rqctl dispatch FetchCryptoData getCryptoList --param page=2 [--data '{"params":{…}}']`:
    // --param values are strings here; the schema coerces them to the declared types.
    fromCli(method, params, data) {
      const base = isObject(data) ? data : {};
      const baseParams = isObject(base.params) ? base.params : {};
      return { ...base, ...(method !== undefined ? { method } : {}), params: { ...baseParams, ...params } };
    },
    run: runFetch,
  });
}

export const FetchCryptoData = fetchJob('FetchCryptoData', 'CoinGecko');
export const FetchStockData = fetchJob('FetchStockData', 'Finnhub');
