/**
 * Provider rate limits as operators write them (docs/rate-limits.md): `N/WINDOW`, e.g. `30/min`,
 * `30/s`, `20/2s`, `1000/h`, `10/1500ms`. A provider may have several (`60/min, 30/s`): all hold.
 */
export interface RateLimit {
  /** Requests that may start in any window of `windowMs`. */
  max: number;
  windowMs: number;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, sec: 1000, m: 60_000, min: 60_000, h: 3_600_000, hr: 3_600_000, d: 86_400_000 };

/** Up to this many requests per window: the budget keeps one sorted-set entry per request in it. */
export const MAX_REQUESTS_PER_WINDOW = 100_000;
/** Windows up to 31 days (a monthly quota is better left to the provider). */
const MAX_WINDOW_MS = 31 * 86_400_000;

const SHAPE = 'write N/WINDOW, like 30/min, 30/s, 20/2s, 1000/h or 10/1500ms';

/** `20/2s` → {max: 20, windowMs: 2000}; a message saying what is wrong otherwise. */
export function parseRateLimit(text: string): RateLimit | { problem: string } {
  const m = /^\s*(\d+)\s*\/\s*(\d*)\s*([a-z]+)\s*$/i.exec(text);
  const unit = m ? UNIT_MS[m[3].toLowerCase()] : undefined;
  if (!m || unit === undefined) return { problem: `"${text}" is not a rate limit: ${SHAPE}` };
  const max = Number(m[1]);
  const windowMs = (m[2] === '' ? 1 : Number(m[2])) * unit;
  if (max < 1 || max > MAX_REQUESTS_PER_WINDOW) return { problem: `"${text}": the number of requests must be 1–${MAX_REQUESTS_PER_WINDOW}` };
  if (windowMs < 1 || windowMs > MAX_WINDOW_MS) return { problem: `"${text}": the window must be 1 ms to 31 days` };
  return { max, windowMs };
}

/** `{max: 20, windowMs: 2000}` → `20/2s`, in the largest unit that divides the window. */
export function formatRateLimit(limit: RateLimit): string {
  const w = limit.windowMs;
  for (const [unit, ms] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['min', 60_000],
    ['s', 1000],
  ] as const) {
    if (w % ms === 0) return `${limit.max}/${w === ms ? '' : w / ms}${unit}`;
  }
  return `${limit.max}/${w}ms`;
}

/**
 * The limits a provider gets when the configuration names none: the published plans (CoinGecko's
 * demo plan about 30 calls a minute, pro 500; Finnhub's free plan 60 a minute and 30 a second).
 */
export function defaultRateLimits(coingeckoPlan: 'demo' | 'pro'): Record<'coingecko' | 'finnhub', RateLimit[]> {
  return {
    coingecko: [{ max: coingeckoPlan === 'pro' ? 500 : 30, windowMs: 60_000 }],
    finnhub: [
      { max: 60, windowMs: 60_000 },
      { max: 30, windowMs: 1000 },
    ],
  };
}
