import type { Config } from '../../config/resolve.js';
import { ExitCode, RqctlError, usageError } from '../../errors.js';
import { cacheDuration, fetchCacheKey, findMethod, methodsOf, normalizeParams, type FetchJobName, type ParamValue } from './methods.js';

export interface CacheKeyInfo {
  key: string;
  family: string;
  job: FetchJobName;
  method: string;
  /** The params the key is computed from: coerced and with defaults. */
  params: Record<string, ParamValue>;
  canonical: string;
  ttl: number;
}

const FETCH_JOBS: FetchJobName[] = ['FetchCryptoData', 'FetchStockData'];

/**
 * `rqctl cache key <Job> <method> [--param k=v]…`: the key the fetch job writes, computed exactly as
 * the job does (same coercion, same defaults). No Redis, no BullMQ.
 */
export async function cacheKeyFor(config: Config, job: string, method: string, params: Record<string, string>, nowMs = Date.now()): Promise<CacheKeyInfo> {
  if (!FETCH_JOBS.includes(job as FetchJobName)) {
    const known = FETCH_JOBS.join(', ');
    throw usageError(`${job} writes no cache keys (only ${known} do)`, `e.g. rqctl cache key FetchCryptoData getCryptoList --param vs_currency=usd`);
  }
  const fetchJob = job as FetchJobName;
  const m = findMethod(fetchJob, method);
  if (!m) throw usageError(`unknown method "${method}" for ${job}`, `methods: ${methodsOf(fetchJob).join(', ')}`);
  const r = normalizeParams(m, params, nowMs);
  if (!r.ok) {
    const problems = r.problems.map((p) => p.message);
    throw new RqctlError('INVALID_PARAMS', ExitCode.usage, problems.length === 1 ? problems[0] : `invalid params:\n  ${problems.join('\n  ')}`, {
      hint: `\`rqctl jobs ${job}\` lists the params of ${method}`,
      details: { problems },
    });
  }
  const { canonicalJson } = await import('../../cache/key.js');
  return {
    key: fetchCacheKey(config.cache.prefix, m, r.params),
    family: m.family,
    job: fetchJob,
    method: m.name,
    params: r.params,
    canonical: canonicalJson(r.params),
    ttl: cacheDuration(config, m),
  };
}
