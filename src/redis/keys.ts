import type { Redis } from 'ioredis';
import type { RedisClient } from './connect.js';
import { scanBatches, type ScanOptions } from './scan.js';

export interface KeyEntry {
  key: Buffer;
  /** With details: the TYPE. */
  type?: string;
  /** With details: seconds to live, -1 without expiry. */
  ttl?: number;
  /** With details: MEMORY USAGE in bytes; null when the server refuses MEMORY (ACL, old Redis). */
  bytes?: number | null;
}

export interface ListKeysOptions extends ScanOptions {
  /** Stop after this many keys. */
  limit?: number;
  /** Adds type, TTL and MEMORY USAGE, pipelined per SCAN batch. */
  details?: boolean;
}

/** Per-node memory of "MEMORY USAGE is refused here", so a refusing server is asked only once. */
const memoryRefused = new WeakSet<Redis>();

/**
 * TYPE, TTL and MEMORY USAGE of a batch of keys in one pipeline: one round trip for the batch, and
 * each command is O(1) (MEMORY USAGE samples 5 elements of an aggregate, like its default). Keys
 * that vanished between SCAN and the pipeline are dropped.
 */
export async function keyDetails(node: Redis, keys: Buffer[]): Promise<KeyEntry[]> {
  if (!keys.length) return [];
  const withMemory = !memoryRefused.has(node);
  const pipeline = node.pipeline();
  for (const k of keys) {
    pipeline.type(k);
    pipeline.ttl(k);
    if (withMemory) pipeline.memory('USAGE', k);
  }
  const results = (await pipeline.exec()) ?? [];
  const step = withMemory ? 3 : 2;
  const out: KeyEntry[] = [];
  for (let i = 0; i < keys.length; i++) {
    const [typeErr, type] = results[i * step] ?? [];
    if (typeErr) throw typeErr;
    if (type === 'none') continue;
    const ttl = Number(results[i * step + 1]?.[1] ?? -1);
    let bytes: number | null = null;
    if (withMemory) {
      const [memErr, mem] = results[i * step + 2] ?? [];
      if (memErr) memoryRefused.add(node);
      else bytes = mem === null || mem === undefined ? null : Number(mem);
    }
    out.push({ key: keys[i], type: String(type), ttl: ttl === -2 ? -1 : ttl, bytes });
  }
  return out;
}

/**
 * Streams the keys matching a pattern, batch by batch (SCAN with COUNT ~1000). Nothing is
 * accumulated: the caller writes each batch out before the next one is read, so memory stays flat
 * over millions of keys.
 */
export async function* listKeys(client: RedisClient, opts: ListKeysOptions = {}): AsyncGenerator<KeyEntry[]> {
  let left = opts.limit ?? Infinity;
  if (left <= 0) return;
  for await (const { node, keys } of scanBatches(client, opts)) {
    let entries: KeyEntry[] = opts.details ? await keyDetails(node, keys) : keys.map((key) => ({ key }));
    if (entries.length > left) entries = entries.slice(0, left);
    left -= entries.length;
    if (entries.length) yield entries;
    if (left <= 0) return;
  }
}
