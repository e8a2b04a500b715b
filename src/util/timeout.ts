/**
 * Bounds on waits that may never end: a Redis that went away while a process stops, a library whose
 * close() waits on a connection that is already gone. The timer is cleared as soon as `p` settles,
 * so a bound never holds the event loop by itself once its promise is done.
 */

/** `p`, or a rejection with `message` once `ms` have passed. */
export function withTimeout<T>(p: Promise<T>, ms: number, message = 'timeout'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
  return Promise.race([p, expired]).finally(() => clearTimeout(timer));
}

/** `p`, or `fallback` once `ms` have passed; a rejection of `p` still rejects. */
export function withFallback<T, F>(p: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<F>((resolve) => (timer = setTimeout(() => resolve(fallback), ms)));
  return Promise.race([p, expired]).finally(() => clearTimeout(timer));
}
