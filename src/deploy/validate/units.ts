/** Sizes and durations as Redis, Docker and compose write them. */

/** Redis memory values (memtoll): `256mb` = 256 × 1024², `256m` = 256 × 10⁶, bare bytes. */
export function redisBytes(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d+)(b|k|kb|m|mb|g|gb)?$/i.exec(text.trim());
  if (!m) return undefined;
  const unit = (m[2] ?? 'b').toLowerCase();
  const mul: Record<string, number> = { b: 1, k: 1000, kb: 1024, m: 1_000_000, mb: 1024 ** 2, g: 1_000_000_000, gb: 1024 ** 3 };
  return Number(m[1]) * mul[unit];
}

/** Docker memory values (`384M`, `1g`, `512mb`, bytes): binary units. */
export function dockerBytes(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgt])?b?$/i.exec(value.trim());
  if (!m) return undefined;
  const mul: Record<string, number> = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };
  return Math.round(Number(m[1]) * mul[(m[2] ?? 'b').toLowerCase()]);
}

/** Go durations as compose writes them (`1m30s`, `360s`, `500ms`); a bare number is seconds. */
export function composeSeconds(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string' || !value.trim()) return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  for (const m of text.matchAll(re)) {
    const n = Number(m[1]);
    total += m[2] === 'h' ? n * 3600 : m[2] === 'm' ? n * 60 : m[2] === 's' ? n : m[2] === 'ms' ? n / 1000 : n / 1e6;
    consumed += m[0].length;
  }
  return consumed === text.length ? total : undefined;
}

/** Worker `--timeout` values: seconds, or `5m`/`300s`/`1h`. */
export function timeoutSeconds(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  return m[2] === 'h' ? n * 3600 : m[2] === 'm' ? n * 60 : m[2] === 'ms' ? n / 1000 : n;
}

/** Bytes as a redis.conf memory value (`256mb`, `1gb`), for fixes to quote; src/util/bytes.ts formats figures for people. */
export function formatRedisMemory(n: number): string {
  if (n >= 1024 ** 3 && n % 1024 ** 3 === 0) return `${n / 1024 ** 3}gb`;
  if (n >= 1024 ** 2) return `${Math.round((n / 1024 ** 2) * 10) / 10}mb`;
  return `${n}b`;
}
