import { isAscii } from 'node:buffer';
import { Cluster, type Redis } from 'ioredis';
import type { Config } from '../config/resolve.js';
import { sameServer } from '../config/endpoints.js';
import { usageError } from '../errors.js';
import type { RedisClient } from '../redis/connect.js';
import { escapeKey, globEscape } from '../redis/keyname.js';
import { scanBatches } from '../redis/scan.js';
import { familyOf } from './families.js';
import { DECLINED, type Confirm, type Declined } from '../util/confirm.js';
import { sharesDatabase, type Sharing } from '../redis/same-server.js';

/**
 * `cache clear`: SCAN + UNLINK in the cache role, never FLUSHDB/FLUSHALL (renamed away in
 * production, and they would take the queue and sessions with them on a shared server).
 *
 * Pacing. Redis runs one command at a time, so what matters for other clients is that no single
 * command is long: SCAN steps of ~1000 keys and UNLINKs of at most 500 keys take about a millisecond
 * each (UNLINK only unlinks; big values are freed by a background thread). The batch size adapts to
 * how long Redis itself spent on the UNLINKs (TIME before and after, inside one MULTI): a batch that
 * kept Redis busy for more than 5 ms halves the next ones, fast ones let them grow back. The round
 * trip is no measure of that: on a busy host it is mostly this process waiting for a CPU, and
 * shrinking on it made a clear of 1,000,000 keys 5× slower (13,000 UNLINKs instead of 2,000) while
 * Redis was idle (bench row cache-clear).
 */

export const CLEAR_SCAN_COUNT = 1000;
export const CLEAR_MAX_UNLINK = 500;
const CLEAR_MIN_UNLINK = 50;
/** Redis-side time of one UNLINK batch above which the next batches shrink, and below which they grow. */
const SLOW_MS = 5;
const FAST_MS = 2;

export interface CacheClearSelection {
  /** Key prefixes after CACHE_PREFIX (`stock_quote_`); literal, not globs. */
  prefixes?: string[];
  /** Tag names from `cache.tags`. */
  tags?: string[];
}

export interface CacheClearPlan {
  /** What will be deleted, for messages: `keys starting with "stock_quote_"`. */
  description: string;
  /** Full literal prefixes (CACHE_PREFIX included); empty = every key of the cache role's DB. */
  prefixes: Buffer[];
  /** SCAN MATCH: the longest prefix the selected prefixes share, as a glob. */
  match: Buffer;
  /** No prefix, no tag: the whole cache (every key under CACHE_PREFIX, or the whole DB). */
  whole: boolean;
  cachePrefix: string;
}

function commonPrefix(bufs: Buffer[]): Buffer {
  if (!bufs.length) return Buffer.alloc(0);
  let n = Math.min(...bufs.map((b) => b.length));
  for (const b of bufs) {
    let i = 0;
    while (i < n && b[i] === bufs[0][i]) i++;
    n = i;
  }
  return bufs[0].subarray(0, n);
}

/**
 * Turns `--prefix`/`--tag` into what to scan for. `--prefix P` is relative to CACHE_PREFIX: it
 * selects keys starting with CACHE_PREFIX + P, so `--prefix stock_quote_` means the stock quotes
 * whatever CACHE_PREFIX is. Refuses (exit 2) an unknown tag, and a whole-cache clear that would reach
 * other roles' keys (a cluster, or a cache DB shared with the queue or sessions, without CACHE_PREFIX).
 */
export function planCacheClear(config: Config, selection: CacheClearSelection): CacheClearPlan {
  const cachePrefix = config.cache.prefix;
  const tags = config.cache.tags;
  const literal: string[] = [];
  const what: string[] = [];
  for (const p of selection.prefixes ?? []) {
    if (p === '') throw usageError('--prefix must not be empty', 'omit --prefix to clear the whole cache');
    literal.push(cachePrefix + p);
    what.push(`"${cachePrefix}${p}"`);
  }
  for (const t of selection.tags ?? []) {
    const families = Object.hasOwn(tags, t) ? tags[t] : undefined;
    if (!families) {
      const known = Object.keys(tags);
      throw usageError(
        `unknown cache tag "${t}"`,
        known.length ? `known tags: ${known.join(', ')} (cache.tags in rqctl.config.yaml)` : 'define tags under cache.tags in rqctl.config.yaml',
      );
    }
    if (!families.length) throw usageError(`cache tag "${t}" names no key family`, 'list its families under cache.tags in rqctl.config.yaml');
    for (const f of families) literal.push(`${cachePrefix}${f}_`);
    what.push(`tag ${t} (${families.join(', ')})`);
  }
  const whole = literal.length === 0;
  const ep = config.roles.cache;
  if (whole && cachePrefix) literal.push(cachePrefix);
  if (whole && !cachePrefix && ep.kind === 'cluster') {
    throw usageError(
      'refusing to clear every key of the cluster: the cache shares it with the queue and sessions',
      'set CACHE_PREFIX, or pass --prefix or --tag',
    );
  }
  const prefixes = [...new Set(literal)].map((l) => Buffer.from(l, 'utf8'));
  const common = commonPrefix(prefixes);
  const match = prefixes.length === 0 ? Buffer.alloc(0) : Buffer.concat([globEscape(common), Buffer.from('*')]);
  const description = whole
    ? cachePrefix
      ? `every cache key (starting with "${cachePrefix}")`
      : `every key of the cache role's DB ${ep.db}`
    : `keys starting with ${what.join(' or ')}`;
  const plan = { description, prefixes, match, whole, cachePrefix };
  // The config's text, as a fast path: roles it names alike are surely one server and DB. The
  // servers are asked (askCacheDbSharing) before anything is deleted.
  checkCacheDbSharing(config, plan, textSharing(config, rolesToAsk(config, plan)));
  return plan;
}

/** Whether the queue and session roles share the cache role's DB (see src/redis/same-server.ts). */
export type CacheDbSharing = Partial<Record<'queue' | 'session', Sharing>>;

/**
 * The roles whose sharing of the cache's DB matters for a plan: both for a clear of the whole DB
 * (no CACHE_PREFIX), the queue for prefixes that could reach its keys (BullMQ's QUEUE_PREFIX).
 */
function rolesToAsk(config: Config, plan: CacheClearPlan): ('queue' | 'session')[] {
  if (plan.whole && !plan.cachePrefix) return ['queue', 'session'];
  const queuePrefix = `${config.queue.prefix}:`;
  const literal = plan.prefixes.map((b) => b.toString('utf8'));
  return literal.some((l) => l.startsWith(queuePrefix) || queuePrefix.startsWith(l)) ? ['queue'] : [];
}

function textSharing(config: Config, roles: ('queue' | 'session')[]): CacheDbSharing {
  const ep = config.roles.cache;
  const out: CacheDbSharing = {};
  for (const r of roles) {
    const o = config.roles[r];
    out[r] = ep.kind === 'cluster' || (sameServer(ep, o) && o.db === ep.db) ? 'same' : 'different';
  }
  return out;
}

/** Asks the servers whether the roles that matter to `plan` share the cache's DB. */
export async function askCacheDbSharing(config: Config, cacheClient: RedisClient, plan: CacheClearPlan): Promise<CacheDbSharing> {
  const out: CacheDbSharing = {};
  for (const r of rolesToAsk(config, plan)) out[r] = config.roles.cache.kind === 'cluster' ? 'same' : await sharesDatabase(config, 'cache', cacheClient, r);
  return out;
}

/**
 * Refuses (exit 2) a plan that would reach another role's keys: a clear of every key of a DB the
 * queue or sessions also use (without CACHE_PREFIX), or prefixes that include the queue's keys. A
 * role whose server could not be asked counts as sharing the DB: nothing is deleted on a guess.
 */
export function checkCacheDbSharing(config: Config, plan: CacheClearPlan, sharing: CacheDbSharing): void {
  const ep = config.roles.cache;
  const unknown = (r: 'queue' | 'session') =>
    sharing[r] === 'unknown' ? ` (could not ask the ${r} role at ${config.roles[r].display} whether it is this server: it did not answer, or denies INFO)` : '';
  if (plan.whole && !plan.cachePrefix) {
    for (const other of ['queue', 'session'] as const) {
      if (sharing[other] === 'same' || sharing[other] === 'unknown') {
        throw usageError(
          `refusing to clear every key of DB ${ep.db}: the ${other} role ${sharing[other] === 'same' ? 'uses the same DB' : 'may use the same DB'}${unknown(other)}`,
          'set CACHE_PREFIX, give the cache its own DB (REDIS_CACHE_DB), or pass --prefix or --tag',
        );
      }
    }
    return;
  }
  if (sharing.queue === 'same' || sharing.queue === 'unknown') {
    // A prefix on a DB shared with the queue must not reach into BullMQ's keys.
    const queuePrefix = `${config.queue.prefix}:`;
    const clash = plan.prefixes.map((b) => b.toString('utf8')).find((l) => l.startsWith(queuePrefix) || queuePrefix.startsWith(l));
    if (clash !== undefined)
      throw usageError(
        `refusing: keys starting with "${clash}" include the queue's keys (QUEUE_PREFIX ${config.queue.prefix}) in the same DB${unknown('queue')}`,
        'use a longer --prefix',
      );
  }
}

export interface CacheClearOptions {
  /**
   * With the config, the servers are asked whether the queue or session role shares the cache's DB
   * (src/redis/same-server.ts) before anything is counted or deleted; the plan alone only knows what
   * the config's text says.
   */
  config?: Config;
  dryRun?: boolean;
  /** Asked before anything is deleted (not for a dry run), with the DB's size when the whole DB goes. */
  confirm?: Confirm<{ plan: CacheClearPlan; dbKeys?: number }>;
  /**
   * Stops the clear after the current batch. A function is called once the clear starts, after the
   * confirmation: Ctrl-C at a prompt is the prompt's.
   */
  signal?: AbortSignal | (() => AbortSignal);
  onProgress?: (p: { matched: number; deleted: number }) => void;
  scanCount?: number;
  maxUnlink?: number;
}

export interface CacheClearResult {
  /** Keys that matched (counted as they were found). */
  matched: number;
  /** Keys UNLINK actually removed (a key that expired meanwhile is not counted). */
  deleted: number;
  dryRun: boolean;
  /** Matched keys per key family (`other` for keys of no known family). */
  families: Record<string, number>;
  /** UNLINK calls, and the longest Redis spent on one of them, ms (TIME inside the MULTI; the round trip on a cluster): how long other clients could wait behind it. */
  unlinkCalls: number;
  slowestUnlinkMs: number;
  interrupted: boolean;
  elapsedMs: number;
  /** A few of the matched keys, escaped (for --dry-run). */
  sample: string[];
}

/** Keys unlinked, and how long Redis spent on it (ms, measured by Redis; round trip on a cluster). */
async function unlinkOn(node: Redis, keys: Buffer[], cluster: boolean): Promise<{ deleted: number; redisMs: number }> {
  if (!cluster) {
    // Names are read as bytes (binary-safe), but ioredis builds a command with Buffer arguments
    // byte by byte: ~1.5 µs per key, most of this command's CPU (profiled). ASCII names go as
    // strings, which are the same bytes.
    const args: (Buffer | string)[] = keys.every((k) => isAscii(k)) ? keys.map((k) => k.toString('latin1')) : keys;
    const res =
      (await node
        .multi()
        .time()
        .unlink(...args)
        .time()
        .exec()) ?? [];
    const [[e1, t0], [e2, n], [e3, t1]] = res as [Error | null, unknown][];
    const err = e1 ?? e2 ?? e3;
    if (err) throw err;
    const micros = (t: unknown) => Number((t as string[])[0]) * 1e6 + Number((t as string[])[1]);
    return { deleted: Number(n), redisMs: (micros(t1) - micros(t0)) / 1000 };
  }
  // Keys of one master may still hash to different slots (CROSSSLOT): one UNLINK per key, pipelined.
  const t0 = performance.now();
  const p = node.pipeline();
  for (const k of keys) p.unlink(k);
  const res = (await p.exec()) ?? [];
  return { deleted: res.reduce((a, [err, n]) => a + (err ? 0 : Number(n)), 0), redisMs: performance.now() - t0 };
}

function startsWithAny(key: Buffer, prefixes: Buffer[]): boolean {
  for (const p of prefixes) if (key.length >= p.length && key.subarray(0, p.length).equals(p)) return true;
  return false;
}

/**
 * `cache clear`: asks (with the DB's size when the whole DB goes), then runs the plan. Declining
 * changes nothing.
 */
export async function clearCache(client: RedisClient, plan: CacheClearPlan, opts: CacheClearOptions = {}): Promise<CacheClearResult | Declined> {
  if (opts.config) checkCacheDbSharing(opts.config, plan, await askCacheDbSharing(opts.config, client, plan));
  if (!opts.dryRun && opts.confirm) {
    const dbKeys = plan.whole && !plan.cachePrefix ? await client.dbsize() : undefined;
    if (!(await opts.confirm({ plan, ...(dbKeys !== undefined ? { dbKeys } : {}) }))) return DECLINED;
  }
  const signal = typeof opts.signal === 'function' ? opts.signal() : opts.signal;
  return unlinkPlan(client, plan, { ...opts, signal });
}

/** Runs a plan: SCAN (MATCH the shared prefix) and UNLINK in small, adaptive batches. */
async function unlinkPlan(
  client: RedisClient,
  plan: CacheClearPlan,
  opts: Omit<CacheClearOptions, 'signal'> & { signal?: AbortSignal },
): Promise<CacheClearResult> {
  const started = Date.now();
  const cluster = client instanceof Cluster;
  const maxUnlink = Math.max(1, Math.min(opts.maxUnlink ?? CLEAR_MAX_UNLINK, CLEAR_MAX_UNLINK));
  let batch = maxUnlink;
  let smoothMs: number | undefined;
  const r: CacheClearResult = {
    matched: 0,
    deleted: 0,
    dryRun: !!opts.dryRun,
    families: {},
    unlinkCalls: 0,
    slowestUnlinkMs: 0,
    interrupted: false,
    elapsedMs: 0,
    sample: [],
  };
  const prefixLen = Buffer.byteLength(plan.cachePrefix);
  // With one prefix, SCAN MATCH already selects exactly; with several, MATCH selects their common
  // prefix and the rest is checked here.
  const filter = plan.prefixes.length > 1 ? plan.prefixes : null;
  const cachePrefix = Buffer.from(plan.cachePrefix, 'utf8');
  // One prefix that starts with a family's name (`--prefix stock_quote_`): every key it selects is of
  // that family, so there is nothing to look at per key.
  const planFamily =
    plan.prefixes.length === 1 && plan.prefixes[0].subarray(0, prefixLen).equals(cachePrefix)
      ? familyOf(Buffer.concat([plan.prefixes[0], Buffer.from('x')]), prefixLen)
      : undefined;
  let inFlight: Promise<{ deleted: number; redisMs: number }[]> | undefined;
  const account = (done: { deleted: number; redisMs: number }[]) => {
    let ms = 0;
    for (const d of done) {
      r.deleted += d.deleted;
      ms = Math.max(ms, d.redisMs);
    }
    if (ms > r.slowestUnlinkMs) r.slowestUnlinkMs = ms;
    // Smoothed, so one slow batch does not shrink every later one.
    smoothMs = smoothMs === undefined ? ms : smoothMs * 0.7 + ms * 0.3;
    if (smoothMs > SLOW_MS) batch = Math.max(CLEAR_MIN_UNLINK, Math.floor(batch / 2));
    else if (smoothMs < FAST_MS && batch < maxUnlink) batch = Math.min(maxUnlink, batch * 2);
  };
  for await (const { node, keys: scanned } of scanBatches(client, { match: plan.match, count: opts.scanCount ?? CLEAR_SCAN_COUNT, signal: opts.signal })) {
    const keys = filter ? scanned.filter((k) => startsWithAny(k, filter)) : scanned;
    r.matched += keys.length;
    if (planFamily) r.families[planFamily] = (r.families[planFamily] ?? 0) + keys.length;
    else {
      for (const k of keys) {
        const f = k.subarray(0, prefixLen).equals(cachePrefix) ? (familyOf(k, prefixLen) ?? 'other') : 'other';
        r.families[f] = (r.families[f] ?? 0) + 1;
      }
    }
    for (let i = 0; r.sample.length < 10 && i < keys.length; i++) r.sample.push(escapeKey(keys[i]));
    if (!opts.dryRun && keys.length) {
      // The chunks of one SCAN step go out together (one round trip; Redis runs them back to back,
      // ~1 ms per 500 small keys), while the next SCAN step is already queued behind them. The
      // previous step's UNLINKs are awaited only now, so Redis works while this process prepares
      // the next step: at most two steps in flight.
      const chunks: Buffer[][] = [];
      for (let i = 0; i < keys.length; i += batch) chunks.push(keys.slice(i, i + batch));
      const step = Promise.all(chunks.map((chunk) => unlinkOn(node, chunk, cluster)));
      step.catch(() => {});
      r.unlinkCalls += chunks.length;
      if (inFlight) account(await inFlight);
      inFlight = step;
    }
    opts.onProgress?.({ matched: r.matched, deleted: r.deleted });
    if (opts.signal?.aborted) {
      r.interrupted = true;
      break;
    }
  }
  if (inFlight) account(await inFlight);
  if (opts.signal?.aborted) r.interrupted = true;
  r.slowestUnlinkMs = Math.round(r.slowestUnlinkMs * 100) / 100;
  r.elapsedMs = Date.now() - started;
  return r;
}
