import type { Output } from '../render.js';
import type { CacheClearPlan, CacheClearResult } from '../../cache/clear.js';
import { TTL_BUCKETS, type CacheStats } from '../../cache/stats.js';
import type { CacheValue, ForgetResult } from '../../cache/values.js';
import type { CacheKeyInfo } from '../../jobs/fetch/cache-key.js';
import { escapeKey } from '../../redis/keyname.js';
import { formatBytes, formatRatio } from '../../util/bytes.js';
import { isDeclined, type Declined } from '../../util/confirm.js';

/** What the `cache` commands print. */

/** `cache get`: the value byte for byte on stdout (through `sink`, with backpressure), its TTL on stderr; --json: one object. */
export async function printCacheValue(out: Output, v: CacheValue, sink: { write(chunk: string | Uint8Array): Promise<boolean> }): Promise<void> {
  const ttl = v.pttl < 0 ? -1 : Math.ceil(v.pttl / 1000);
  if (out.json) {
    const text = v.value.toString('utf8');
    const utf8 = Buffer.from(text, 'utf8').equals(v.value);
    out.line(
      JSON.stringify({
        key: escapeKey(v.key),
        ttl,
        bytes: v.value.length,
        encoding: utf8 ? 'utf8' : 'base64',
        value: utf8 ? text : v.value.toString('base64'),
      }),
    );
    return;
  }
  await sink.write(v.value);
  // Byte for byte when piped; a terminal gets a final newline so the prompt starts on its own line.
  if (out.stdoutIsTTY && v.value[v.value.length - 1] !== 0x0a) await sink.write('\n');
  out.info(`ttl: ${ttl < 0 ? 'none (no expiry)' : `${ttl} s`}`);
}

/** `cache forget`. */
export function printForgotten(out: Output, r: ForgetResult): void {
  out.result(r, () => {
    out.line(`forgot ${r.forgotten} key${r.forgotten === 1 ? '' : 's'}`);
    for (const m of r.missing) out.warn(`not found: ${m}`);
  });
}

/** What `cache clear` asks: "Delete keys starting with "stock_quote_" in the cache role (redis://…)?". */
export function cacheClearQuestion(ask: { plan: CacheClearPlan; dbKeys?: number }, where: string): string {
  return `Delete ${ask.plan.description} in ${where}${ask.dbKeys !== undefined ? ` (${ask.dbKeys} keys)` : ''}?`;
}

/**
 * `cache clear`. `where`: "the cache role (redis://…)". A "no" at the prompt is exit 0 with
 * `{"deleted":0,"declined":true}`, as the other destructive commands report `{"removed":0,"declined":true}`.
 */
export function printCacheClear(out: Output, r: CacheClearResult | Declined, plan: CacheClearPlan, where: string): void {
  if (isDeclined(r)) {
    out.result({ deleted: 0, declined: true }, () => out.info('not confirmed: nothing deleted'));
    return;
  }
  const json = {
    deleted: r.deleted,
    matched: r.matched,
    dryRun: r.dryRun,
    families: r.families,
    interrupted: r.interrupted,
    unlinkCalls: r.unlinkCalls,
    slowestUnlinkMs: r.slowestUnlinkMs,
    elapsedMs: r.elapsedMs,
    selection: plan.description,
  };
  out.result(json, () => {
    const fam = Object.entries(r.families)
      .sort((a, b) => b[1] - a[1])
      .map(([f, n]) => `${f} ${n}`)
      .join(', ');
    if (r.dryRun) {
      out.line(`would delete ${r.matched} key${r.matched === 1 ? '' : 's'}: ${plan.description} in ${where}`);
      if (fam) out.line(`  by family: ${fam}`);
      for (const s of r.sample) out.line(`  e.g. ${s}`);
    } else {
      out.line(`deleted ${r.deleted} key${r.deleted === 1 ? '' : 's'}${r.interrupted ? ' before the interrupt' : ''}: ${plan.description}`);
      if (fam) out.line(`  by family: ${fam}`);
      out.info(`${r.unlinkCalls} UNLINK calls in ${(r.elapsedMs / 1000).toFixed(1)} s, slowest ${r.slowestUnlinkMs} ms`);
    }
  });
}

/** `cache stats`: a table per key family, then the cache's figures. */
export function printCacheStats(out: Output, s: CacheStats): void {
  out.result(s, () => {
    out.line(
      out.table(
        ['family', 'keys', 'no ttl', 'duration', 'ttl left min/mean/max', `left ${TTL_BUCKETS.join(' | ')}`],
        s.families.map((f) => [
          f.family,
          f.keys,
          f.noTtl,
          f.duration === null ? '-' : `${f.duration}s`,
          f.ttl ? `${f.ttl.min}/${f.ttl.mean}/${f.ttl.max}` : '-',
          f.buckets ? TTL_BUCKETS.map((b) => f.buckets![b]).join(' | ') : '-',
        ]),
      ),
    );
    out.line('');
    out.line(
      out.kv([
        ['keys', `${s.totalKeys}${s.prefix ? ` under CACHE_PREFIX "${s.prefix}"` : ''} (DB ${s.db} holds ${s.dbSize ?? '?'})`],
        ['without ttl', s.keysWithoutTtl ? `${s.keysWithoutTtl} (e.g. ${s.noTtlSample.join(', ')})` : 0],
        ['hit ratio', `${formatRatio(s.hitRatio)} (${s.keyspaceHits} hits, ${s.keyspaceMisses} misses since the server started, all DBs)`],
        ['evicted', s.evictedKeys],
        ['expired', s.expiredKeys],
        ['memory', `${formatBytes(s.usedMemory)} of ${s.maxmemory ? formatBytes(s.maxmemory) : 'no limit'} (${s.maxmemoryPolicy ?? '?'})`],
      ]),
    );
  });
}

/** `cache key`: the key on stdout; with -v how it was made. */
export function printCacheKey(out: Output, info: CacheKeyInfo): void {
  out.result(info, () => {
    out.line(info.key);
    out.debug(`family ${info.family}, params ${info.canonical}, ttl ${info.ttl}s`);
  });
}
