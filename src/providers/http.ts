import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';

/**
 * HTTP for the market-data providers. Node's global fetch (undici), a per-request timeout combined
 * with the job's AbortSignal, and one error type that says whether a retry can help.
 */

const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };
export const USER_AGENT = `rqctl/${pkg.version} (+https://www.npmjs.com/package/rqctl)`;

/** Redirects followed within the provider's origin before giving up. */
export const MAX_REDIRECTS = 5;

/** The longest Retry-After rqctl honours; longer means "quota exhausted": retrying soon is pointless. */
export const MAX_RETRY_AFTER_MS = 3_600_000;

export type ProviderErrorKind = 'rate-limited' | 'server' | 'client' | 'timeout' | 'network' | 'invalid-response';

/**
 * A failed provider request. `retryable` decides between a retry (429, 5xx, timeouts, network errors,
 * a 2xx that is not JSON) and failing at once (other 4xx: unknown symbol, bad key, a plan that lacks
 * the endpoint). The message always holds the HTTP status (when there was one) and the provider's own
 * message.
 */
export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  constructor(
    message: string,
    readonly kind: ProviderErrorKind,
    readonly retryable: boolean,
    readonly status?: number,
    /** From a 429's Retry-After header: how long the provider asks us to wait. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export interface ProviderRequest {
  /** For messages: CoinGecko, Finnhub. */
  provider: string;
  baseUrl: string;
  path: string;
  query: [string, string][];
  headers: Record<string, string>;
  timeoutMs: number;
  /** The job's signal (worker timeout or shutdown); aborting it aborts the request. */
  signal?: AbortSignal;
}

export interface ProviderResponse {
  status: number;
  /** The body exactly as received (after transfer decoding), never re-serialised. */
  body: Buffer;
  contentType?: string;
}

export function buildUrl(baseUrl: string, path: string, query: [string, string][]): string {
  const u = new URL(baseUrl.replace(/\/+$/, '') + path);
  for (const [k, v] of query) u.searchParams.append(k, v);
  return u.toString();
}

/** Retry-After is either delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null, nowMs = Date.now()): number | undefined {
  if (value === null) return undefined;
  const s = value.trim();
  if (/^\d+$/.test(s)) return Number(s) * 1000;
  const at = Date.parse(s);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/** The provider's own words from an error body: CoinGecko `{"status":{"error_message"}}` or `{"error"}`, Finnhub `{"error"}`. */
export function providerMessage(body: Buffer): string {
  const text = body.toString('utf8').trim();
  if (!text) return '(empty body)';
  try {
    const j = JSON.parse(text) as any;
    const candidates = [j?.error, j?.status?.error_message, j?.message, j?.error?.message, j?.errors?.[0]?.message];
    for (const c of candidates) if (typeof c === 'string' && c.trim()) return c.trim();
  } catch {
    // Not JSON (a proxy's HTML page, plain text): show its start.
  }
  const oneLine = text
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return oneLine.length > 200 ? `${oneLine.slice(0, 200)}…` : oneLine;
}

function describeNetworkError(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  const cause = e?.cause;
  if (cause?.code && cause.message) return cause.message.includes(cause.code) ? cause.message : `${cause.code}: ${cause.message}`;
  return cause?.message ?? e?.message ?? String(err);
}

const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

let warm: Promise<void> | undefined;

/**
 * Runs one request through the same path as a provider request (URL, signals, Node's fetch and its
 * HTTP parser, the body, the JSON check) against a throwaway server on 127.0.0.1, once per process.
 * A fetch job awaits it before taking its rate-limit permit: the first requests of a fresh process
 * otherwise leave hundreds of milliseconds after their permits (undici loads and compiles on first
 * use), which the provider, counting arrivals, would see bunched against the next ones.
 */
export function warmUpHttp(): Promise<void> {
  warm ??= (async () => {
    const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      await providerGet({ provider: 'warm-up', baseUrl: `http://127.0.0.1:${port}`, path: '/', query: [], headers: {}, timeoutMs: 5000 });
    } finally {
      server.closeAllConnections();
      server.close();
    }
  })().catch(() => {});
  return warm;
}

const isRedirect = (status: number) => status === 301 || status === 302 || status === 303 || status === 307 || status === 308;

/**
 * The GET, following redirects by hand: only within the base URL's origin (scheme, host and port),
 * because the request carries the API key in a header and fetch would send it to wherever a
 * redirect points (only `Authorization` is dropped across origins). A redirect elsewhere fails at
 * once, without a retry: the provider moved, or something in between is not the provider.
 */
async function fetchWithinOrigin(req: ProviderRequest, what: string, signal: AbortSignal): Promise<Response> {
  let url = buildUrl(req.baseUrl, req.path, req.query);
  const origin = new URL(url).origin;
  const headers = { accept: 'application/json', 'user-agent': USER_AGENT, ...req.headers };
  for (let hops = 0; ; hops++) {
    const res = await fetch(url, { method: 'GET', headers, signal, redirect: 'manual' });
    const location = res.headers.get('location');
    if (!isRedirect(res.status) || location === null) return res;
    await res.body?.cancel();
    const next = new URL(location, url);
    if (next.origin !== origin) {
      const setting = req.provider === 'CoinGecko' ? 'COINGECKO_BASE_URL' : req.provider === 'Finnhub' ? 'FINNHUB_BASE_URL' : 'its base URL';
      throw new ProviderError(
        `${what} → HTTP ${res.status} redirect to another origin (${next.origin}): not followed, the API key is only sent to ${origin}; if the provider moved, set ${setting} to its new address`,
        'invalid-response',
        false,
        res.status,
      );
    }
    if (hops >= MAX_REDIRECTS) throw new ProviderError(`${what}: more than ${MAX_REDIRECTS} redirects (a loop?)`, 'invalid-response', false, res.status);
    url = next.toString();
  }
}

/**
 * One GET. Resolves with a 2xx response whose body is JSON; everything else throws ProviderError.
 * A job-signal abort is rethrown as the signal's reason, so the worker reports its own timeout.
 */
export async function providerGet(req: ProviderRequest): Promise<ProviderResponse> {
  const what = `${req.provider} GET ${req.path}`;
  const timeout = AbortSignal.timeout(req.timeoutMs);
  const signal = req.signal ? AbortSignal.any([timeout, req.signal]) : timeout;
  let res: Response;
  let body: Buffer;
  try {
    res = await fetchWithinOrigin(req, what, signal);
    body = Buffer.from(await res.arrayBuffer());
  } catch (err) {
    if (err instanceof ProviderError) throw err;
    if (req.signal?.aborted) throw req.signal.reason ?? err;
    if (timeout.aborted) throw new ProviderError(`${what}: no response within ${seconds(req.timeoutMs)} (timeout)`, 'timeout', true);
    throw new ProviderError(`${what}: network error: ${describeNetworkError(err)}`, 'network', true);
  }
  const status = res.status;
  if (status >= 200 && status < 300) {
    try {
      JSON.parse(body.toString('utf8'));
    } catch {
      // A captive portal or a misrouted proxy answering 200 with HTML must not overwrite good data.
      throw new ProviderError(`${what} → HTTP ${status} but the body is not JSON: ${providerMessage(body)}`, 'invalid-response', true, status);
    }
    return { status, body, contentType: res.headers.get('content-type') ?? undefined };
  }
  const msg = providerMessage(body);
  if (status === 429) {
    const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
    const wait = retryAfterMs === undefined ? '' : ` (Retry-After ${seconds(retryAfterMs)})`;
    if (retryAfterMs !== undefined && retryAfterMs > MAX_RETRY_AFTER_MS) {
      throw new ProviderError(
        `${what} → HTTP 429${wait}: ${msg}; not retried: the provider asks to wait over ${MAX_RETRY_AFTER_MS / 3_600_000} h (quota exhausted?)`,
        'rate-limited',
        false,
        status,
        retryAfterMs,
      );
    }
    throw new ProviderError(`${what} → HTTP 429 rate limited${wait}: ${msg}`, 'rate-limited', true, status, retryAfterMs);
  }
  if (status >= 500) throw new ProviderError(`${what} → HTTP ${status}: ${msg}`, 'server', true, status);
  if (status >= 400) throw new ProviderError(`${what} → HTTP ${status}: ${msg}`, 'client', false, status);
  // 1xx, or a 3xx without a Location: nothing usable.
  throw new ProviderError(`${what} → HTTP ${status}: ${msg}`, 'invalid-response', true, status);
}
