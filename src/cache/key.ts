import { createHash } from 'node:crypto';

/**
 * The cache key contract (docs/jobs.md). Other services (Python, Node, PHP) compute these keys
 * themselves and read the values directly, so this must be reproducible in any language:
 *
 *   key = CACHE_PREFIX + family + "_" + md5hex(canonicalJson(params))
 *
 * `params` are the method's params after type coercion and defaults. canonicalJson is JSON with
 * object keys sorted (recursively, by UTF-16 code unit, which equals code point order for the ASCII
 * param names used here), no whitespace, strings not otherwise escaped beyond JSON's rules (no `\/`,
 * no `\uXXXX` for non-ASCII). Equivalent to:
 *   Python  json.dumps(p, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
 *   PHP     ksort($p); json_encode($p, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE)
 *   Node    this function
 * md5 is taken over the UTF-8 bytes.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError(`canonicalJson: ${value} is not representable in JSON`);
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint') {
      throw new TypeError(`canonicalJson: a ${typeof value} is not representable in JSON`);
    }
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

export function md5hex(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}

/** `prefix + family + "_" + md5hex(canonicalJson(params))`. */
export function cacheKey(prefix: string, family: string, params: Record<string, unknown>): string {
  return `${prefix}${family}_${md5hex(canonicalJson(params))}`;
}
