import type { RedisClient } from './connect.js';
import { escapeKey } from './keyname.js';
import { keyDetails } from './keys.js';
import { scanBatches, type ScanOptions } from './scan.js';

export interface BigKey {
  key: string;
  type: string;
  bytes: number;
  ttl: number;
}

export interface BigKeysReport {
  scanned: number;
  totalBytes: number;
  byType: Record<string, { keys: number; bytes: number }>;
  keys: BigKey[];
  /** False when the server refused MEMORY USAGE (an ACL, or Redis < 4). */
  memoryAvailable: boolean;
  /** True when --max-keys stopped the scan before the end. */
  partial: boolean;
}

export interface BigKeysOptions extends Omit<ScanOptions, 'count'> {
  top?: number;
  /** Pause between SCAN batches, ms (like redis-cli -i). */
  intervalMs?: number;
  /** Keys per SCAN step. */
  count?: number;
  /** Stop after looking at this many keys (a sample of a huge keyspace). */
  maxKeys?: number;
  onProgress?: (scanned: number) => void;
}

/** Defaults: 500 keys per step and a 2 ms pause between steps, so a scan never crowds Redis out. */
export const BIGKEYS_COUNT = 500;
export const BIGKEYS_INTERVAL_MS = 2;

/**
 * The largest keys by MEMORY USAGE, like `redis-cli --memkeys`: a full SCAN, MEMORY USAGE (which
 * samples 5 elements of an aggregate) pipelined per batch, a short pause between batches. Only the
 * top N are kept, so memory stays flat.
 */
export async function findBigKeys(client: RedisClient, opts: BigKeysOptions = {}): Promise<BigKeysReport> {
  const top = opts.top ?? 10;
  const interval = opts.intervalMs ?? BIGKEYS_INTERVAL_MS;
  const report: BigKeysReport = { scanned: 0, totalBytes: 0, byType: {}, keys: [], memoryAvailable: true, partial: false };
  // Kept sorted descending; top N is small, so an insertion is cheap.
  const best: { key: Buffer; type: string; bytes: number; ttl: number }[] = [];
  for await (const { node, keys } of scanBatches(client, { ...opts, count: opts.count ?? BIGKEYS_COUNT })) {
    const entries = await keyDetails(node, keys);
    for (const e of entries) {
      report.scanned++;
      const bytes = e.bytes ?? 0;
      if (e.bytes === null) report.memoryAvailable = false;
      report.totalBytes += bytes;
      const t = (report.byType[e.type!] ??= { keys: 0, bytes: 0 });
      t.keys++;
      t.bytes += bytes;
      if (top > 0 && (best.length < top || bytes > best[best.length - 1].bytes)) {
        let i = best.length;
        while (i > 0 && best[i - 1].bytes < bytes) i--;
        best.splice(i, 0, { key: e.key, type: e.type!, bytes, ttl: e.ttl ?? -1 });
        if (best.length > top) best.pop();
      }
    }
    opts.onProgress?.(report.scanned);
    if (opts.maxKeys !== undefined && report.scanned >= opts.maxKeys) {
      report.partial = true;
      break;
    }
    if (interval > 0) await new Promise((r) => setTimeout(r, interval));
  }
  report.keys = best.map((b) => ({ key: escapeKey(b.key), type: b.type, bytes: b.bytes, ttl: b.ttl }));
  return report;
}
