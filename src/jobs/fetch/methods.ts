import { cacheKey } from '../../cache/key.js';

/**
 * The ten fetch methods (docs/jobs.md): request, params with their types and defaults, cache key
 * family. Pure data and functions (no BullMQ, no Redis) so `rqctl cache key` stays light.
 *
 * Param types are part of the cache key contract: `page=1` from the command line and `{"page":1}` in a
 * payload must give the same key, so every value is coerced to its declared type before defaults are
 * merged and the key is computed.
 */

export type ParamType = 'string' | 'int' | 'bool' | 'days' | 'list';

export interface ParamSpec {
  type: ParamType;
  required?: boolean;
  /** A value, or a function of "now" (ms) for time-relative defaults. */
  default?: string | number | boolean | ((nowMs: number) => string | number | boolean);
  /** Smallest allowed integer (int and days). */
  min?: number;
  /** Substituted into the request path (`/coins/{id}`) instead of the query string; still part of the key. */
  inPath?: boolean;
  description: string;
}

export type FetchJobName = 'FetchCryptoData' | 'FetchStockData';
export type ProviderName = 'coingecko' | 'finnhub';

export interface FetchMethod {
  name: string;
  job: FetchJobName;
  provider: ProviderName;
  /** Request path below the provider's base URL; `{param}` segments come from params. */
  path: string;
  family: string;
  params: Readonly<Record<string, ParamSpec>>;
}

const DAY = 86_400;
/** Today 00:00 UTC in unix seconds: the default `to` of getStockChart, stable for a whole day. */
const startOfDay = (nowMs: number) => Math.floor(nowMs / 1000 / DAY) * DAY;

const str = (description: string, def?: string, extra: Partial<ParamSpec> = {}): ParamSpec => ({ type: 'string', default: def, description, ...extra });
const required = (description: string, extra: Partial<ParamSpec> = {}): ParamSpec => ({ type: 'string', required: true, description, ...extra });
const bool = (def: boolean, description: string): ParamSpec => ({ type: 'bool', default: def, description });
const int = (def: ParamSpec['default'], min: number, description: string): ParamSpec => ({ type: 'int', default: def, min, description });

const METHODS: FetchMethod[] = [
  {
    name: 'getCryptoList',
    job: 'FetchCryptoData',
    provider: 'coingecko',
    path: '/coins/markets',
    family: 'crypto_list',
    params: {
      vs_currency: str('quote currency', 'usd'),
      order: str('sort order', 'market_cap_desc'),
      per_page: int(100, 1, 'coins per page'),
      page: int(1, 1, 'page number'),
    },
  },
  {
    name: 'getCryptoDetail',
    job: 'FetchCryptoData',
    provider: 'coingecko',
    path: '/coins/{id}',
    family: 'crypto_detail',
    params: {
      id: required('coin id, e.g. bitcoin', { inPath: true }),
      localization: bool(false, 'include localized names'),
      tickers: bool(false, 'include tickers'),
      community_data: bool(false, 'include community data'),
      developer_data: bool(false, 'include developer data'),
    },
  },
  {
    name: 'getCryptoPrices',
    job: 'FetchCryptoData',
    provider: 'coingecko',
    path: '/simple/price',
    family: 'crypto_prices',
    params: {
      ids: { type: 'list', required: true, description: 'coin ids, comma-separated' },
      vs_currencies: str('quote currencies, comma-separated', 'usd'),
      include_24hr_change: bool(true, 'include the 24 h change'),
    },
  },
  {
    name: 'getTrendingCryptos',
    job: 'FetchCryptoData',
    provider: 'coingecko',
    path: '/search/trending',
    family: 'crypto_trending',
    params: {},
  },
  {
    name: 'getCryptoChart',
    job: 'FetchCryptoData',
    provider: 'coingecko',
    path: '/coins/{id}/market_chart',
    family: 'crypto_chart',
    params: {
      id: required('coin id, e.g. bitcoin', { inPath: true }),
      vs_currency: str('quote currency', 'usd'),
      days: { type: 'days', default: 7, min: 1, description: 'days of history: an integer or max' },
    },
  },
  {
    name: 'getStockList',
    job: 'FetchStockData',
    provider: 'finnhub',
    path: '/stock/symbol',
    family: 'stock_list',
    params: { exchange: str('exchange code', 'US') },
  },
  {
    name: 'getStockQuote',
    job: 'FetchStockData',
    provider: 'finnhub',
    path: '/quote',
    family: 'stock_quote',
    params: { symbol: required('ticker symbol, e.g. AAPL') },
  },
  {
    name: 'getStockProfile',
    job: 'FetchStockData',
    provider: 'finnhub',
    path: '/stock/profile2',
    family: 'stock_profile',
    params: { symbol: required('ticker symbol, e.g. AAPL') },
  },
  {
    name: 'getMarketNews',
    job: 'FetchStockData',
    provider: 'finnhub',
    path: '/news',
    family: 'market_news',
    params: { category: str('news category', 'general') },
  },
  {
    name: 'getStockChart',
    job: 'FetchStockData',
    provider: 'finnhub',
    path: '/stock/candle',
    family: 'stock_chart',
    params: {
      symbol: required('ticker symbol, e.g. AAPL'),
      resolution: str('candle resolution: 1, 5, 15, 30, 60, D, W, M', 'D'),
      from: int((now) => startOfDay(now) - 30 * DAY, 0, 'unix seconds (default: 30 days before to)'),
      to: int((now) => startOfDay(now), 0, 'unix seconds (default: today 00:00 UTC)'),
    },
  },
];

export const FETCH_METHODS: ReadonlyMap<string, FetchMethod> = new Map(METHODS.map((m) => [m.name, m]));

export function methodsOf(job: FetchJobName): string[] {
  return METHODS.filter((m) => m.job === job).map((m) => m.name);
}

export function findMethod(job: FetchJobName, name: string): FetchMethod | undefined {
  const m = FETCH_METHODS.get(name);
  return m && m.job === job ? m : undefined;
}

export type ParamValue = string | number | boolean;
export type NormalizeResult = { ok: true; params: Record<string, ParamValue> } | { ok: false; problems: { param: string; message: string }[] };

function coerce(name: string, spec: ParamSpec, value: unknown): ParamValue | { error: string } {
  switch (spec.type) {
    case 'int': {
      let n: number | undefined;
      if (typeof value === 'number') n = value;
      else if (typeof value === 'string' && /^\s*-?\d+\s*$/.test(value)) n = Number(value);
      if (n === undefined || !Number.isSafeInteger(n)) return { error: `must be an integer (got ${JSON.stringify(value)})` };
      if (spec.min !== undefined && n < spec.min) return { error: `must be at least ${spec.min} (got ${n})` };
      return n;
    }
    case 'days': {
      if (value === 'max') return 'max';
      const n = coerce(name, { ...spec, type: 'int' }, value);
      if (typeof n === 'object') return { error: `must be an integer or "max" (got ${JSON.stringify(value)})` };
      return n;
    }
    case 'bool': {
      if (typeof value === 'boolean') return value;
      if (typeof value === 'string') {
        const s = value.trim().toLowerCase();
        if (s === 'true' || s === '1') return true;
        if (s === 'false' || s === '0') return false;
      }
      if (value === 1 || value === 0) return value === 1;
      return { error: `must be true or false (got ${JSON.stringify(value)})` };
    }
    case 'list': {
      // A payload may give an array; the provider and the key both use the comma-separated form.
      if (Array.isArray(value) && value.length && value.every((v) => typeof v === 'string' && v !== '')) return value.join(',');
      if (typeof value === 'string' && value !== '') return value;
      return { error: `must be a non-empty comma-separated list (got ${JSON.stringify(value)})` };
    }
    case 'string': {
      if (typeof value === 'string') return spec.required && value === '' ? { error: 'must not be empty' } : value;
      if (typeof value === 'number' && Number.isFinite(value)) return String(value);
      return { error: `must be a string (got ${JSON.stringify(value)})` };
    }
  }
}

/**
 * Coerces each param to its declared type, rejects unknown and missing ones, and applies the
 * defaults. The result is what the key is computed from and what is sent to the provider.
 */
export function normalizeParams(method: FetchMethod, raw: Record<string, unknown>, nowMs = Date.now()): NormalizeResult {
  const problems: { param: string; message: string }[] = [];
  const out: Record<string, ParamValue> = {};
  const known = Object.keys(method.params);
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined || value === null) continue;
    // Own keys only: `constructor` or `toString` must not find Object's.
    const spec = Object.hasOwn(method.params, name) ? method.params[name] : undefined;
    if (!spec) {
      problems.push({
        param: name,
        message: `unknown param "${name}" for ${method.name} (${known.length ? `known: ${known.join(', ')}` : 'it takes no params'})`,
      });
      continue;
    }
    const v = coerce(name, spec, value);
    if (typeof v === 'object') problems.push({ param: name, message: `${name} ${v.error}` });
    else out[name] = v;
  }
  for (const [name, spec] of Object.entries(method.params)) {
    if (name in out || problems.some((p) => p.param === name)) continue;
    if (spec.required) problems.push({ param: name, message: `${method.name} needs ${name} (${spec.description})` });
    else if (spec.default !== undefined) out[name] = typeof spec.default === 'function' ? spec.default(nowMs) : spec.default;
  }
  if (typeof out.from === 'number' && typeof out.to === 'number' && out.from > out.to)
    problems.push({ param: 'from', message: `from (${out.from}) is after to (${out.to})` });
  if (problems.length) return { ok: false, problems };
  return { ok: true, params: out };
}

/** The key a fetch writes: `prefix + family + "_" + md5(canonicalJson(params))`. Params must be normalized. */
export function fetchCacheKey(prefix: string, method: FetchMethod, params: Record<string, ParamValue>): string {
  return cacheKey(prefix, method.family, params);
}

/** The TTL (seconds) of a method's key: CRYPTO_CACHE_DURATION or STOCK_CACHE_DURATION. */
export function cacheDuration(config: { cache: { cryptoDuration: number; stockDuration: number } }, method: FetchMethod): number {
  return method.provider === 'coingecko' ? config.cache.cryptoDuration : config.cache.stockDuration;
}

/** Splits normalized params into the request path and query (booleans as true/false). */
export function requestOf(method: FetchMethod, params: Record<string, ParamValue>): { path: string; query: [string, string][] } {
  let path = method.path;
  const query: [string, string][] = [];
  for (const name of Object.keys(params).sort()) {
    const spec = method.params[name];
    const value = String(params[name]);
    if (spec?.inPath) path = path.replace(`{${name}}`, encodeURIComponent(value));
    else query.push([name, value]);
  }
  return { path, query };
}
