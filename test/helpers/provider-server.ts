import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ROOT } from './cli.js';

/**
 * A local stand-in for CoinGecko and Finnhub on 127.0.0.1 and a free port, serving the recorded
 * responses of test/fixtures/providers. Tests can queue one-off answers per path (429 with
 * Retry-After, 500, 401, a slow answer, a body that is not JSON) and read every request it got.
 *
 *   CoinGecko base URL: <url>/coingecko/api/v3     Finnhub base URL: <url>/finnhub/api/v1
 */

const FIXTURES = join(ROOT, 'test', 'fixtures', 'providers');

export function fixture(name: string): Buffer {
  const raw = readFileSync(join(FIXTURES, name));
  return raw[raw.length - 1] === 0x0a ? raw.subarray(0, raw.length - 1) : raw;
}

export interface Answer {
  status?: number;
  headers?: Record<string, string>;
  /** A fixture file name (relative to test/fixtures/providers) or a literal body. */
  fixture?: string;
  body?: string | Buffer;
  /** Wait this long before answering. */
  delayMs?: number;
}

export interface RecordedRequest {
  method: string;
  /** The path below the provider's base, e.g. /coins/markets. */
  path: string;
  provider: 'coingecko' | 'finnhub';
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  at: number;
}

const CG = '/coingecko/api/v3';
const FH = '/finnhub/api/v1';

/** The recorded answer for a request, like the real API. */
function defaultAnswer(provider: 'coingecko' | 'finnhub', path: string): Answer {
  if (provider === 'coingecko') {
    if (path === '/coins/markets') return { fixture: 'coingecko/coins_markets.json' };
    if (path === '/simple/price') return { fixture: 'coingecko/simple_price.json' };
    if (path === '/search/trending') return { fixture: 'coingecko/search_trending.json' };
    const chart = /^\/coins\/([^/]+)\/market_chart$/.exec(path);
    if (chart)
      return chart[1] === 'bitcoin' ? { fixture: 'coingecko/coins_bitcoin_market_chart.json' } : { status: 404, fixture: 'coingecko/error_404_coin.json' };
    const coin = /^\/coins\/([^/]+)$/.exec(path);
    if (coin) return coin[1] === 'bitcoin' ? { fixture: 'coingecko/coins_bitcoin.json' } : { status: 404, fixture: 'coingecko/error_404_coin.json' };
  } else {
    if (path === '/stock/symbol') return { fixture: 'finnhub/stock_symbol.json' };
    if (path === '/quote') return { fixture: 'finnhub/quote.json' };
    if (path === '/stock/profile2') return { fixture: 'finnhub/stock_profile2.json' };
    if (path === '/news') return { fixture: 'finnhub/news.json' };
    if (path === '/stock/candle') return { fixture: 'finnhub/stock_candle.json' };
  }
  return { status: 404, body: '{"error":"not found"}' };
}

export class ProviderServer {
  readonly requests: RecordedRequest[] = [];
  private readonly queued = new Map<string, Answer[]>();
  private readonly fixed = new Map<string, Answer>();
  private readonly deciders = new Map<string, (query: URLSearchParams) => Answer | undefined>();
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<ProviderServer> {
    const ref: { self?: ProviderServer } = {};
    const server = createServer((req, res) => ref.self!.handle(req.method ?? 'GET', req.url ?? '/', req.headers, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    ref.self = new ProviderServer(server, `http://127.0.0.1:${port}`);
    return ref.self;
  }

  get coingeckoUrl(): string {
    return `${this.url}${CG}`;
  }

  get finnhubUrl(): string {
    return `${this.url}${FH}`;
  }

  /** The next answers for `provider` + `path` (e.g. 'coingecko', '/coins/markets'), used once each, in order. */
  queue(provider: 'coingecko' | 'finnhub', path: string, ...answers: Answer[]): void {
    const key = `${provider}${path}`;
    this.queued.set(key, [...(this.queued.get(key) ?? []), ...answers]);
  }

  /** Always answer `provider` + `path` this way (until reset). */
  always(provider: 'coingecko' | 'finnhub', path: string, answer: Answer): void {
    this.fixed.set(`${provider}${path}`, answer);
  }

  /** Answer `provider` + `path` by the request's query (e.g. 500 for some symbols); undefined falls through to the usual answer. */
  answerBy(provider: 'coingecko' | 'finnhub', path: string, decide: (query: URLSearchParams) => Answer | undefined): void {
    this.deciders.set(`${provider}${path}`, decide);
  }

  reset(): void {
    this.queued.clear();
    this.fixed.clear();
    this.deciders.clear();
    this.requests.length = 0;
  }

  requestsTo(provider: 'coingecko' | 'finnhub', path: string): RecordedRequest[] {
    return this.requests.filter((r) => r.provider === provider && r.path === path);
  }

  private handle(method: string, rawUrl: string, headers: IncomingHttpHeaders, res: ServerResponse): void {
    const u = new URL(rawUrl, this.url);
    const provider = u.pathname.startsWith(CG) ? 'coingecko' : u.pathname.startsWith(FH) ? 'finnhub' : undefined;
    if (!provider) {
      res.writeHead(404).end();
      return;
    }
    const path = u.pathname.slice((provider === 'coingecko' ? CG : FH).length);
    this.requests.push({ method, path, provider, query: u.searchParams, headers, at: Date.now() });
    const key = `${provider}${path}`;
    const q = this.queued.get(key);
    const answer = q?.length ? q.shift()! : (this.deciders.get(key)?.(u.searchParams) ?? this.fixed.get(key) ?? defaultAnswer(provider, path));
    const send = () => {
      if (res.destroyed) return;
      const body = answer.fixture ? fixture(answer.fixture) : Buffer.from(answer.body ?? '');
      res.writeHead(answer.status ?? 200, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(body.length), ...answer.headers });
      res.end(body);
    };
    if (answer.delayMs) {
      const t = setTimeout(() => {
        this.timers.delete(t);
        send();
      }, answer.delayMs);
      this.timers.add(t);
    } else send();
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
