import type { ZodType } from 'zod';
import { closestName } from '../util/did-you-mean.js';

/**
 * Keys of a config file that the schema does not know (`reddis:`, `worker.concurency`). zod's plain
 * objects drop them silently, so a typo would leave a setting at its default without a word. The
 * walk reads the schema itself, so sections added to it later are known without a list to maintain.
 */

export interface UnknownKey {
  /** Dotted path of the unknown key, array indexes included (`schedule.0.withoutOverlaping`). */
  path: string;
  /** `unknown key; did you mean "redis"?`, or the keys that are known at that level. */
  message: string;
}

interface Def {
  type: string;
  shape?: Record<string, ZodType>;
  catchall?: ZodType;
  innerType?: ZodType;
  in?: ZodType;
  out?: ZodType;
  element?: ZodType;
  valueType?: ZodType;
  options?: ZodType[];
  getter?: () => ZodType;
}

const defOf = (t: ZodType): Def => (t as unknown as { _zod: { def: Def } })._zod.def;

/** Looks through defaults, optionals, preprocessing and transforms to the schema that holds the shape. */
function unwrap(t: ZodType): Def {
  for (let i = 0; i < 20; i++) {
    const d = defOf(t);
    if (d.innerType) t = d.innerType;
    else if (d.type === 'pipe' && d.in && d.out) t = defOf(d.in).type === 'transform' ? d.out : d.in;
    else if (d.type === 'lazy' && d.getter) t = d.getter();
    else return d;
  }
  return defOf(t);
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Every key of `value` (a parsed config file) that `schema` has no place for. `env` maps environment
 * variable names to config paths: `REDIS_URL:` written at the top of the file suggests `redis.url`.
 */
export function findUnknownKeys(schema: ZodType, value: unknown, env: Record<string, string> = {}): UnknownKey[] {
  const found: UnknownKey[] = [];
  walk(schema, value, [], found, env);
  return found;
}

function walk(schema: ZodType, value: unknown, path: string[], found: UnknownKey[], env: Record<string, string>): void {
  const d = unwrap(schema);
  if (d.type === 'object' && d.shape && isPlainObject(value)) {
    // A catch-all other than `never` (a loose or passthrough object) accepts any key.
    const open = d.catchall !== undefined && defOf(d.catchall).type !== 'never';
    const known = Object.keys(d.shape);
    for (const [key, v] of Object.entries(value)) {
      if (Object.hasOwn(d.shape, key)) walk(d.shape[key], v, [...path, key], found, env);
      else if (!open) found.push({ path: [...path, key].join('.'), message: unknownKeyMessage(key, known, path.length === 0 ? env : {}) });
    }
  } else if (d.type === 'array' && d.element && Array.isArray(value)) {
    value.forEach((v, i) => walk(d.element!, v, [...path, String(i)], found, env));
  } else if (d.type === 'record' && d.valueType && isPlainObject(value)) {
    for (const [key, v] of Object.entries(value)) walk(d.valueType, v, [...path, key], found, env);
  } else if (d.type === 'union' && d.options) {
    // The first alternative that has room for every key wins; else report against the first that is
    // an object (or an array) like the value.
    let first: UnknownKey[] | undefined;
    for (const option of d.options) {
      const t = unwrap(option).type;
      if (!((t === 'object' || t === 'record') && isPlainObject(value)) && !(t === 'array' && Array.isArray(value))) continue;
      const mine: UnknownKey[] = [];
      walk(option, value, path, mine, env);
      if (mine.length === 0) return;
      first ??= mine;
    }
    if (first) found.push(...first);
  }
}

function unknownKeyMessage(key: string, known: string[], env: Record<string, string>): string {
  const envPath = Object.hasOwn(env, key) ? env[key] : undefined;
  if (envPath) return `unknown key; did you mean "${envPath}"? (${key} is the environment variable; in the file it is ${envPath.split('.').join(': ')}: …)`;
  const near = closestName(key, known);
  if (near) return `unknown key; did you mean "${near}"?`;
  return `unknown key (known here: ${known.join(', ')})`;
}
