import type { JobSchedulerJson, Queue } from 'bullmq';
import type { Config } from '../config/resolve.js';
import { ConfigError } from '../errors.js';
import { findJobType, jobTypes } from '../jobs/registry.js';
import { discoverQueues, openQueue } from '../queue/queues.js';
import type { RedisClient } from '../redis/connect.js';
import { loadBundledJobTypes } from '../jobs/load.js';
import { entryQueue, type PlannedEntry } from './entries.js';
import type { ScheduleKeys } from './keys.js';

/**
 * Job entries become BullMQ job schedulers (`Queue.upsertJobScheduler`): BullMQ creates each run
 * exactly once, whatever the number of scheduler processes, and the workers create the next one.
 * This module computes the difference between the config and Redis and applies it.
 */

/** One job scheduler, as configured or as found in Redis. */
export interface SchedulerItem {
  name: string;
  queue: string;
  job: string;
  cron: string | null;
  everyMs: number | null;
  timezone: string | null;
  data: Record<string, unknown>;
  attempts: number | null;
  backoffMs: number | null;
}

export interface ChangedItem extends SchedulerItem {
  /** `cron: "*\/5 * * * *" → "*\/10 * * * *"`, one per field that differs. */
  changes: string[];
  from: SchedulerItem;
}

export interface SyncResult {
  added: SchedulerItem[];
  changed: ChangedItem[];
  removed: SchedulerItem[];
  unchanged: SchedulerItem[];
  /** Job schedulers in Redis that are not in the config and were left alone (scheduler start-up). */
  kept: SchedulerItem[];
  warnings: string[];
  dryRun: boolean;
}

export type OrphanPolicy =
  /** `schedule sync`: Redis must match the config; every other job scheduler goes. */
  | 'all'
  /** `rqctl scheduler` start-up: remove only what rqctl created and the config no longer has. */
  | 'managed';

export function desiredItem(config: Config, entry: PlannedEntry): SchedulerItem {
  const type = findJobType(entry.job!.name);
  return {
    name: entry.name,
    queue: entryQueue(entry),
    job: entry.job!.name,
    cron: entry.cron ?? null,
    everyMs: entry.everyMs ?? null,
    timezone: entry.cron ? entry.timezone : null,
    // As written: the worker applies the schema's defaults when the job runs (a default computed
    // from the current date, like getStockChart's from/to, must not be frozen at sync time).
    data: entry.job!.data,
    // The same attempts and backoff `rqctl dispatch` gives a job of this type.
    attempts: type?.tries ?? config.worker.tries,
    backoffMs: (type?.backoff ?? config.worker.backoff) * 1000,
  };
}

/**
 * Payloads of job entries are checked against the job type's schema when the type is known, so a
 * broken entry is refused at start-up (exit 2) instead of failing every run. Unknown job names are a
 * warning only when job types are registered at all (the registry may be empty in a build without
 * the bundled jobs).
 */
export function checkJobEntries(entries: readonly PlannedEntry[]): { warnings: string[] } {
  const problems: string[] = [];
  const warnings: string[] = [];
  const known = jobTypes().length > 0;
  entries.forEach((e, i) => {
    if (e.kind !== 'job') return;
    const type = findJobType(e.job!.name);
    if (!type) {
      if (known) warnings.push(`schedule entry "${e.name}": no job type "${e.job!.name}" is registered; no worker will process its runs (see \`rqctl jobs\`)`);
      return;
    }
    const parsed = type.schema.safeParse(e.job!.data);
    if (!parsed.success) {
      const why = parsed.error.issues.map((x) => `${x.path.join('.') || 'data'}: ${x.message}`).join('; ');
      problems.push(`schedule.${i} (${e.name}): job data does not match ${type.name}'s payload schema: ${why}`);
    }
  });
  if (problems.length) throw new ConfigError(problems);
  return { warnings };
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

export function compareItems(want: SchedulerItem, have: SchedulerItem): string[] {
  const changes: string[] = [];
  const fmt = (v: unknown) => (v === null || v === undefined ? '-' : typeof v === 'string' ? `"${v}"` : canonical(v));
  const field = (label: string, a: unknown, b: unknown) => {
    if (canonical(a ?? null) !== canonical(b ?? null)) changes.push(`${label}: ${fmt(b)} → ${fmt(a)}`);
  };
  field('queue', want.queue, have.queue);
  field('job', want.job, have.job);
  field('cron', want.cron, have.cron);
  field('every', want.everyMs, have.everyMs);
  if (want.cron !== null) field('timezone', want.timezone, have.timezone);
  field('data', want.data, have.data);
  field('attempts', want.attempts, have.attempts);
  field('backoff', want.backoffMs, have.backoffMs);
  return changes;
}

/** Every job scheduler under the queue prefix, by queue. */
async function readExisting(
  config: Config,
  client: RedisClient,
  queues: Map<string, Queue>,
  extraQueues: string[],
  warnings: string[],
): Promise<SchedulerItem[]> {
  const names = new Set([...(await discoverQueues(config, client)), ...extraQueues]);
  const out: SchedulerItem[] = [];
  for (const name of [...names].sort()) {
    // Opening a BullMQ Queue writes its meta key: look before touching a queue that may not exist.
    if ((await client.zcard(repeatKey(config, name))) === 0) continue;
    const queue = queueFor(config, client, queues, name);
    let list;
    try {
      list = await queue.getJobSchedulers(0, -1, true);
    } catch (e) {
      // Legacy (BullMQ < 6) repeatable jobs make the listing throw: report, leave them alone.
      warnings.push(`queue ${name}: cannot read its job schedulers: ${(e as Error).message.split('\n')[0]}`);
      continue;
    }
    for (const s of list) out.push(schedulerItem(name, s));
  }
  return out;
}

/** BullMQ's sorted set of a queue's job schedulers (id → next run). */
export function repeatKey(config: Config, queue: string): string {
  return `${config.queue.prefix}:${queue}:repeat`;
}

/** A job scheduler as BullMQ returns it, in the shape the diff compares. */
export function schedulerItem(queue: string, s: JobSchedulerJson): SchedulerItem {
  const opts = (s.template?.opts ?? {}) as { attempts?: number; backoff?: number | { delay?: number } };
  const backoff = typeof opts.backoff === 'number' ? opts.backoff : (opts.backoff?.delay ?? null);
  return {
    name: s.key,
    queue,
    job: s.name,
    cron: s.pattern ?? null,
    everyMs: s.every ?? null,
    timezone: s.pattern ? (s.tz ?? null) : null,
    data: (s.template?.data ?? {}) as Record<string, unknown>,
    attempts: opts.attempts ?? null,
    backoffMs: backoff,
  };
}

function queueFor(config: Config, client: RedisClient, queues: Map<string, Queue>, name: string): Queue {
  let q = queues.get(name);
  if (!q) {
    q = openQueue(config, name, client);
    queues.set(name, q);
  }
  return q;
}

/**
 * Removes a job scheduler and the run it had already created. BullMQ's removeJobScheduler deletes the
 * scheduler and its next run while that run is delayed; once the run has been promoted to the wait
 * list it would stay behind and run once more, so it is removed here too (a run already active is
 * left to finish).
 */
export async function removeScheduler(queue: Queue, id: string): Promise<void> {
  let next: number | null | undefined;
  try {
    next = (await queue.getJobScheduler(id))?.next;
  } catch {
    next = undefined;
  }
  await queue.removeJobScheduler(id);
  if (next) {
    const job = await queue.getJob(`repeat:${id}:${next}`);
    if (job) {
      const state = await job.getState();
      if (state === 'waiting' || state === 'delayed' || state === 'prioritized' || state === 'waiting-children') await job.remove();
    }
  }
}

async function upsert(queue: Queue, item: SchedulerItem, now: number): Promise<void> {
  const opts: { attempts?: number; backoff?: { type: 'fixed'; delay: number } } = {};
  if (item.attempts !== null) opts.attempts = item.attempts;
  if (item.backoffMs !== null) opts.backoff = { type: 'fixed', delay: item.backoffMs };
  const repeat =
    item.cron !== null
      ? { pattern: item.cron, tz: item.timezone ?? 'UTC' }
      : // BullMQ would run a new `every` scheduler at once and count from there; starting it on the
        // epoch-aligned slot makes it run when `schedule list` says (every 15m: :00, :15, :30, :45).
        { every: item.everyMs!, startDate: (Math.floor(now / item.everyMs!) + 1) * item.everyMs! };
  await queue.upsertJobScheduler(item.name, repeat, { name: item.job, data: item.data, opts });
}

export interface SyncOptions {
  dryRun?: boolean;
  orphans: OrphanPolicy;
  keys: ScheduleKeys;
  now?: number;
}

/** Makes Redis' job schedulers match the job entries of the schedule, and says what changed. */
export async function syncJobSchedulers(config: Config, client: RedisClient, entries: readonly PlannedEntry[], options: SyncOptions): Promise<SyncResult> {
  await loadBundledJobTypes();
  const { warnings } = checkJobEntries(entries);
  const desired = entries.filter((e) => e.kind === 'job').map((e) => desiredItem(config, e));
  const queues = new Map<string, Queue>();
  const result: SyncResult = { added: [], changed: [], removed: [], unchanged: [], kept: [], warnings, dryRun: !!options.dryRun };
  try {
    const existing = await readExisting(
      config,
      client,
      queues,
      desired.map((d) => d.queue),
      warnings,
    );
    const managed = new Set(Object.keys(await client.hgetall(options.keys.managed)));
    const wanted = new Set(desired.map((d) => d.name));
    const toRemove: SchedulerItem[] = [];
    const toUpsert: SchedulerItem[] = [];

    for (const want of desired) {
      const same = existing.filter((x) => x.name === want.name);
      const inQueue = same.find((x) => x.queue === want.queue);
      // The same name in another queue: the entry moved (or its job type changed queue).
      for (const other of same) if (other !== inQueue) toRemove.push(other);
      const have = inQueue ?? same[0];
      if (!have) {
        result.added.push(want);
        toUpsert.push(want);
        continue;
      }
      const changes = compareItems(want, have);
      if (changes.length === 0) result.unchanged.push(want);
      else {
        result.changed.push({ ...want, changes, from: have });
        toUpsert.push(want);
      }
    }
    for (const have of existing) {
      if (wanted.has(have.name)) continue;
      if (options.orphans === 'all' || managed.has(have.name)) {
        result.removed.push(have);
        toRemove.push(have);
      } else {
        result.kept.push(have);
      }
    }

    if (!options.dryRun) {
      const now = options.now ?? Date.now();
      for (const item of toRemove) {
        await removeScheduler(queueFor(config, client, queues, item.queue), item.name);
        if (!wanted.has(item.name)) await client.hdel(options.keys.managed, item.name);
      }
      for (const item of toUpsert) {
        await upsert(queueFor(config, client, queues, item.queue), item, now);
        await client.hset(options.keys.managed, item.name, item.queue);
      }
      // Entries already in Redis before rqctl kept track: they are rqctl's from now on.
      for (const item of result.unchanged) if (!managed.has(item.name)) await client.hset(options.keys.managed, item.name, item.queue);
    }
  } finally {
    await Promise.all([...queues.values()].map((q) => q.close()));
  }
  return result;
}
