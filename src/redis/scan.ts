import { Cluster, type Redis } from 'ioredis';
import type { RedisClient } from './connect.js';

/**
 * SCAN, never KEYS. KEYS walks the whole keyspace in one command and blocks every other client for
 * as long as that takes (seconds on millions of keys); SCAN does the same walk in small steps, each
 * one short, with other clients served in between.
 */

/** Keys per SCAN step: ~1000 keeps each step well under a millisecond and the round trips few. */
export const DEFAULT_SCAN_COUNT = 1000;

export interface ScanOptions {
  /** Glob pattern (SCAN MATCH), as bytes so binary patterns work. */
  match?: Buffer | string;
  /** SCAN COUNT hint. */
  count?: number;
  /** SCAN TYPE (Redis ≥ 6.0); on older servers rqctl filters with TYPE itself. */
  type?: string;
  /** Stops the scan after the current step. */
  signal?: AbortSignal;
}

/** One SCAN step's keys, and the node they live on (a cluster is scanned master by master). */
export interface ScanBatch {
  node: Redis;
  keys: Buffer[];
}

/** The servers to scan: the one server, or every master of a cluster. */
export function scanTargets(client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes('master') : [client];
}

function scanArgs(cursor: string, opts: ScanOptions, withType: boolean): (string | Buffer | number)[] {
  const args: (string | Buffer | number)[] = [cursor];
  if (opts.match !== undefined && opts.match.length > 0) args.push('MATCH', opts.match);
  args.push('COUNT', opts.count ?? DEFAULT_SCAN_COUNT);
  if (withType && opts.type) args.push('TYPE', opts.type);
  return args;
}

async function scanStep(node: Redis, cursor: string, opts: ScanOptions, withType: boolean): Promise<[string, Buffer[]]> {
  const reply = (await node.callBuffer('SCAN', scanArgs(cursor, opts, withType))) as [Buffer, Buffer[]];
  return [reply[0].toString(), reply[1]];
}

/** Keeps the keys whose TYPE matches, for servers whose SCAN has no TYPE option. */
async function filterByType(node: Redis, keys: Buffer[], type: string): Promise<Buffer[]> {
  if (!keys.length) return keys;
  const pipeline = node.pipeline();
  for (const k of keys) pipeline.type(k);
  const results = (await pipeline.exec()) ?? [];
  return keys.filter((_, i) => results[i]?.[1] === type);
}

/**
 * Streams the keys of one server, one SCAN step at a time. The next step is already in flight while
 * the caller handles the current batch, so a slow consumer costs no extra round trip and memory
 * stays at two batches whatever the size of the keyspace.
 */
export async function* scanNode(node: Redis, opts: ScanOptions = {}): AsyncGenerator<Buffer[]> {
  let withType = !!opts.type;
  let first: [string, Buffer[]];
  try {
    first = await scanStep(node, '0', opts, withType);
  } catch (e) {
    // Redis < 6.0 answers "ERR syntax error" to SCAN … TYPE.
    if (!withType || !/syntax error/i.test(String((e as Error).message))) throw e;
    withType = false;
    first = await scanStep(node, '0', opts, false);
  }
  let pending: Promise<[string, Buffer[]]> | undefined;
  try {
    let [cursor, keys] = first;
    for (;;) {
      if (cursor !== '0' && !opts.signal?.aborted) {
        pending = scanStep(node, cursor, opts, withType);
        // The caller may stop early (a `break`, a closed pipe): never leave a rejection unhandled.
        pending.catch(() => {});
      } else pending = undefined;
      if (!withType && opts.type) keys = await filterByType(node, keys, opts.type);
      if (keys.length) yield keys;
      if (!pending) return;
      [cursor, keys] = await pending;
    }
  } finally {
    pending?.catch(() => {});
  }
}

/** Every key matching `opts` on every server behind `client` (each cluster master in turn). */
export async function* scanBatches(client: RedisClient, opts: ScanOptions = {}): AsyncGenerator<ScanBatch> {
  for (const node of scanTargets(client)) {
    if (opts.signal?.aborted) return;
    for await (const keys of scanNode(node, opts)) yield { node, keys };
  }
}
