import { randomBytes } from 'node:crypto';
import type { RedisClient } from '../redis/connect.js';
import { RELEASE_LOCK_LUA } from '../schedule/keys.js';

/**
 * A figure too costly to compute at every scrape (a SCAN), kept in the queue role with the time it
 * was computed, so every exporter shares it and a restart keeps it. Whoever finds it stale takes a
 * lock (SET NX PX) and recomputes; the others keep answering with the value they have. A scrape
 * waits for a computation only when no value exists at all, and then at most `waitMs`.
 */
export interface Cached<T> {
  /** When it was computed, epoch ms. */
  at: number;
  value: T;
}

export interface CachedSpec<T> {
  key: string;
  lockKey: string;
  /** Older than this: recompute. */
  maxAgeMs: number;
  /** The lock's TTL: a crashed exporter's lock lapses after this. */
  lockTtlMs: number;
  compute(): Promise<T>;
}

/** How long a kept value lives without anyone refreshing it (no exporter runs any more). */
const KEEP_S = 86_400;

export async function readCached<T>(client: RedisClient, key: string): Promise<Cached<T> | undefined> {
  const raw = await client.get(key);
  if (!raw) return undefined;
  try {
    const v = JSON.parse(raw) as Cached<T>;
    return typeof v?.at === 'number' ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Recomputes under the lock; undefined when another process holds it. */
export async function refreshCached<T>(client: RedisClient, spec: CachedSpec<T>): Promise<Cached<T> | undefined> {
  const token = randomBytes(8).toString('hex');
  if ((await client.set(spec.lockKey, token, 'PX', spec.lockTtlMs, 'NX')) !== 'OK') return undefined;
  try {
    const fresh = { at: Date.now(), value: await spec.compute() };
    await client.set(spec.key, JSON.stringify(fresh), 'EX', KEEP_S);
    return fresh;
  } finally {
    await client.eval(RELEASE_LOCK_LUA, 1, spec.lockKey, token).catch(() => {});
  }
}

/**
 * The kept value; a stale one starts a refresh in the background (its outcome is reported to
 * `onError` only). With no value at all, waits up to `waitMs` for one, ours or another exporter's.
 */
export async function cachedValue<T>(
  client: RedisClient,
  spec: CachedSpec<T>,
  options: { waitMs: number; now?: number; onError?: (e: Error) => void },
): Promise<Cached<T> | undefined> {
  const current = await readCached<T>(client, spec.key);
  if (current && (options.now ?? Date.now()) - current.at < spec.maxAgeMs) return current;
  const refresh = refreshCached(client, spec);
  refresh.catch((e: Error) => options.onError?.(e));
  if (current) return current;
  const deadline = Date.now() + options.waitMs;
  const ours = await Promise.race([refresh.catch(() => undefined), sleep(options.waitMs).then(() => undefined)]);
  if (ours) return ours;
  // Another exporter is computing it: its result lands in the key.
  while (Date.now() < deadline) {
    await sleep(Math.min(200, Math.max(0, deadline - Date.now())));
    const v = await readCached<T>(client, spec.key);
    if (v) return v;
  }
  return undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
