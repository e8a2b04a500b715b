/**
 * Object keys that JavaScript treats specially: assigning `__proto__` replaces an object's prototype
 * instead of adding a key, and `constructor`/`prototype` name what every object inherits. Payload
 * code (zod records, spreads, lookups by name) drops or misreads them silently, so input that carries
 * them is refused instead.
 */
export const UNSAFE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** The dotted path of the first unsafe key anywhere in a parsed JSON value, or undefined. */
export function findUnsafeKey(value: unknown, path: string[] = []): string | undefined {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findUnsafeKey(value[i], [...path, String(i)]);
      if (found) return found;
    }
  } else if (typeof value === 'object' && value !== null) {
    for (const key of Object.keys(value)) {
      if (UNSAFE_KEYS.has(key)) return [...path, key].join('.');
      const found = findUnsafeKey((value as Record<string, unknown>)[key], [...path, key]);
      if (found) return found;
    }
  }
  return undefined;
}
