import { FlowProducer, Queue, WaitingChildrenError, type FlowJob, type Job } from 'bullmq';
import { quietErrors } from '../queue/queues.js';
import { z } from 'zod';
import type { Config } from '../config/resolve.js';
import { defineJob, DEFAULT_BACKOFF_SECONDS, DEFAULT_TIMEOUT_SECONDS, DEFAULT_TRIES } from './define.js';
import { FetchCryptoData, FetchStockData, type FetchPayload } from './fetch/job.js';
import { jobOptions } from './options.js';
import type { JobContext, JobType } from './types.js';

/**
 * RefreshCryptoCache / RefreshStockCache: orchestrators that run the fetch jobs listed in
 * `refresh.crypto` / `refresh.stock` as children of one BullMQ flow whose parent is the refresh job
 * itself (BullMQ's "dynamic children" pattern):
 *
 * 1. first run: take the refresh lock, add the children (FlowProducer, atomic, each with
 *    `ignoreDependencyOnFailure` so a failed child never leaves the parent waiting), move the parent
 *    to waiting-children;
 * 2. when every child has finished BullMQ runs the parent again: it counts the children that
 *    succeeded and failed, releases the lock and completes with those counts.
 *
 * `dispatch RefreshCryptoCache --wait` therefore returns when the whole refresh is done.
 */

export interface RefreshResult {
  skipped: boolean;
  /** Why it was skipped: the refresh still running (queue:id). */
  runningJob?: string;
  children: number;
  succeeded: number;
  failed: number;
  /** Up to 20 failed children: their job id and failure reason. */
  failures: { job: string; reason: string }[];
}

/** The fetches of one crypto refresh (docs/jobs.md; defaults: list pages 1–2, trending, prices and 7-day charts of the top 10). */
export function cryptoRefreshPlan(config: Config): FetchPayload[] {
  const c = config.refresh.crypto;
  const plan: FetchPayload[] = [];
  for (let page = 1; page <= c.listPages; page++) plan.push({ method: 'getCryptoList', params: { vs_currency: c.vsCurrency, page } });
  if (c.trending) plan.push({ method: 'getTrendingCryptos', params: {} });
  if (c.prices && c.ids.length) plan.push({ method: 'getCryptoPrices', params: { ids: c.ids.join(','), vs_currencies: c.vsCurrency } });
  if (c.charts) for (const id of c.ids) plan.push({ method: 'getCryptoChart', params: { id, vs_currency: c.vsCurrency, days: c.chartDays } });
  return plan;
}

/** The fetches of one stock refresh (defaults: list, news, quote + profile for the watchlist; charts only with `charts: true`). */
export function stockRefreshPlan(config: Config): FetchPayload[] {
  const s = config.refresh.stock;
  const plan: FetchPayload[] = [];
  if (s.list) plan.push({ method: 'getStockList', params: { exchange: s.exchange } });
  if (s.news) plan.push({ method: 'getMarketNews', params: { category: s.newsCategory } });
  for (const symbol of s.watchlist) {
    if (s.quotes) plan.push({ method: 'getStockQuote', params: { symbol } });
    if (s.profiles) plan.push({ method: 'getStockProfile', params: { symbol } });
    // Finnhub candles need a paid plan (free keys get 403): off unless refresh.stock.charts is true.
    if (s.charts) plan.push({ method: 'getStockChart', params: { symbol } });
  }
  return plan;
}

/** Refresh locks live in the queue role (never the cache, which may be cleared or evicted). */
export function refreshLockKey(config: Config, jobName: string): string {
  return `${config.queue.prefix}:rqctl:lock:${jobName}`;
}
/** Long enough for children that wait out retries; a lock whose holder is gone is taken over anyway. */
const LOCK_TTL_SECONDS = 2 * 3600;
const RUNNING_STATES = new Set(['active', 'waiting', 'waiting-children', 'delayed', 'prioritized']);

// Compare-and-set / compare-and-delete, so a refresh only ever replaces or frees the lock it saw.
const CAS = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) return 1 end return 0`;
const CAD = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

const holderOf = (job: Job) => `${job.queueName}:${job.id}`;

async function holderRunning(ctx: JobContext, holder: string): Promise<boolean> {
  const i = holder.indexOf(':');
  const queue = quietErrors(new Queue(holder.slice(0, i), { connection: ctx.redis.queue as never, prefix: ctx.config.queue.prefix }));
  try {
    return RUNNING_STATES.has(await queue.getJobState(holder.slice(i + 1)));
  } finally {
    await queue.close();
  }
}

/** Takes the lock for this refresh; returns the holder that is still running when it cannot. */
async function acquire(ctx: JobContext, key: string): Promise<{ ok: true } | { ok: false; holder: string }> {
  const me = holderOf(ctx.job);
  const redis = ctx.redis.queue;
  for (let i = 0; i < 3; i++) {
    if ((await redis.set(key, me, 'EX', LOCK_TTL_SECONDS, 'NX')) === 'OK') return { ok: true };
    const holder = await redis.get(key);
    if (holder === null) continue;
    if (holder === me) return { ok: true }; // this job, retried after a crash
    if (await holderRunning(ctx, holder)) return { ok: false, holder };
    // The holder crashed or was removed without releasing: take the lock over.
    if ((await redis.eval(CAS, 1, key, holder, me, LOCK_TTL_SECONDS)) === 1) return { ok: true };
  }
  const holder = (await redis.get(key)) ?? 'unknown';
  return { ok: false, holder };
}

async function release(ctx: JobContext, key: string): Promise<void> {
  await ctx.redis.queue.eval(CAD, 1, key, holderOf(ctx.job));
}

/** Child ids derive from the parent's, so `failed list` shows which refresh a fetch belonged to. */
const childId = (parent: Job, i: number) => `${String(parent.id).replace(/:/g, '.')}-${i + 1}`;

async function addChildren(ctx: JobContext, fetchType: JobType<any>, plan: FetchPayload[]): Promise<void> {
  const parent = ctx.job;
  const flows: FlowJob[] = plan.map((data, i) => ({
    name: fetchType.name,
    queueName: fetchType.queue,
    data,
    opts: {
      ...jobOptions(fetchType, ctx.config, { jobId: childId(parent, i) }),
      parent: { id: parent.id!, queue: parent.queueQualifiedName },
      ignoreDependencyOnFailure: true,
    },
  }));
  const producer = quietErrors(new FlowProducer({ connection: ctx.redis.queue as never, prefix: ctx.config.queue.prefix }));
  try {
    await producer.addBulk(flows);
  } finally {
    await producer.close();
  }
}

async function runRefresh(jobName: string, fetchType: JobType<any>, plan: (config: Config) => FetchPayload[], ctx: JobContext): Promise<RefreshResult> {
  const job = ctx.job;
  const key = refreshLockKey(ctx.config, jobName);
  const deps = await job.getDependenciesCount();
  const hasChildren = (deps.processed ?? 0) + (deps.unprocessed ?? 0) + (deps.ignored ?? 0) + (deps.failed ?? 0) > 0;
  if (!hasChildren) {
    const lock = await acquire(ctx, key);
    if (!lock.ok) {
      ctx.log('refresh-skipped', { runningJob: lock.holder });
      return { skipped: true, runningJob: lock.holder, children: 0, succeeded: 0, failed: 0, failures: [] };
    }
    const children = plan(ctx.config);
    if (children.length === 0) {
      await release(ctx, key);
      return { skipped: false, children: 0, succeeded: 0, failed: 0, failures: [] };
    }
    await addChildren(ctx, fetchType, children);
    ctx.log('refresh-started', { children: children.length });
  }
  if (!job.token) throw new Error(`${jobName} must run in a BullMQ worker (no lock token)`);
  if (await job.moveToWaitingChildren(job.token)) throw new WaitingChildrenError();

  // Every child has finished.
  const counts = await job.getDependenciesCount();
  const ignored = await job.getIgnoredChildrenFailures();
  await release(ctx, key);
  const failures = Object.entries(ignored)
    .slice(0, 20)
    .map(([jobKey, reason]) => ({ job: jobKey.split(':').slice(-2).join(':'), reason }));
  const failed = (counts.ignored ?? 0) + (counts.failed ?? 0);
  const succeeded = counts.processed ?? 0;
  ctx.log('refresh-finished', { succeeded, failed });
  return { skipped: false, children: succeeded + failed, succeeded, failed, failures };
}

const refreshSchema = z.object({}).loose();

export const RefreshCryptoCache = defineJob({
  name: 'RefreshCryptoCache',
  queue: 'default',
  description: 'refresh the crypto cache: FetchCryptoData children from refresh.crypto, as one flow',
  schema: refreshSchema,
  tries: DEFAULT_TRIES,
  backoff: DEFAULT_BACKOFF_SECONDS,
  timeout: DEFAULT_TIMEOUT_SECONDS,
  run: (_payload, ctx) => runRefresh('RefreshCryptoCache', FetchCryptoData, cryptoRefreshPlan, ctx),
});

export const RefreshStockCache = defineJob({
  name: 'RefreshStockCache',
  queue: 'default',
  description: 'refresh the stock cache: FetchStockData children from refresh.stock, as one flow',
  schema: refreshSchema,
  tries: DEFAULT_TRIES,
  backoff: DEFAULT_BACKOFF_SECONDS,
  timeout: DEFAULT_TIMEOUT_SECONDS,
  run: (_payload, ctx) => runRefresh('RefreshStockCache', FetchStockData, stockRefreshPlan, ctx),
});
