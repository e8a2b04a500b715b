import type { Queue } from 'bullmq';
import { CronExpressionParser } from 'cron-parser';
import type { Config } from '../config/resolve.js';
import { openQueue } from '../queue/queues.js';
import type { RedisClient } from '../redis/connect.js';
import { loadBundledJobTypes } from '../jobs/load.js';
import { planEntries, type PlannedEntry } from './entries.js';
import { compareItems, desiredItem, repeatKey, schedulerItem } from './job-schedulers.js';
import { scheduleKeys } from './keys.js';
import { readLastRuns } from './records.js';
import { isoInZone, nextRuns } from './timing.js';

/** What became of an entry's most recent run. */
export interface LastRun {
  /** When it started (ISO, UTC). */
  at: string;
  /** Command entries: running | ok | failed | timed-out | error. Job entries: the BullMQ job state. */
  status: string;
  durationMs?: number;
  exitCode?: number | null;
  jobId?: string;
  error?: string;
  host?: string;
}

/** One line of `rqctl schedule list` (`--json`: the `entries` array). */
export interface ListedEntry {
  name: string;
  kind: 'job' | 'command';
  cron: string | null;
  every: string | null;
  everyMs: number | null;
  timezone: string;
  /** The job name, or the shell command. */
  target: string;
  queue?: string;
  withoutOverlapping: boolean;
  onOneServer: boolean;
  /** The next runs, ISO 8601 in the entry's timezone (`…Z` in UTC). */
  next: string[];
  /** Job entries: whether Redis holds this job scheduler as configured (null: unknown). */
  synced?: boolean | null;
  lastRun: LastRun | null;
}

export interface ListOptions {
  count: number;
  now?: number;
  /** The queue role, when reachable: adds last runs and BullMQ's own next run for `every` entries. */
  client?: RedisClient;
}

export async function listSchedule(config: Config, options: ListOptions): Promise<ListedEntry[]> {
  const now = options.now ?? Date.now();
  await loadBundledJobTypes();
  const entries = planEntries(config.schedule);
  const client = options.client;
  const lastRuns = client ? await readLastRuns(client, scheduleKeys(config.queue.prefix)) : new Map();
  const queues = new Map<string, Queue>();
  try {
    const out: ListedEntry[] = [];
    for (const e of entries) {
      const base: ListedEntry = {
        name: e.name,
        kind: e.kind,
        cron: e.cron ?? null,
        every: e.every ?? null,
        everyMs: e.everyMs ?? null,
        timezone: e.timezone,
        target: e.kind === 'job' ? e.job!.name : e.command!,
        withoutOverlapping: e.withoutOverlapping,
        onOneServer: e.onOneServer,
        next: [],
        lastRun: null,
      };
      if (e.kind === 'command') {
        base.next = nextRuns(e, now, options.count).map((d) => isoInZone(d.getTime(), e.timezone));
        const r = lastRuns.get(e.name);
        if (r) base.lastRun = { at: r.startedAt, status: r.status, durationMs: r.durationMs, exitCode: r.exitCode, error: r.error, host: r.host };
        out.push(base);
        continue;
      }
      const want = desiredItem(config, e);
      base.queue = want.queue;
      let anchor: number | undefined;
      if (client) {
        // Only open the queue when the scheduler exists: a BullMQ Queue writes its meta key on open.
        const inRedis = (await client.zscore(repeatKey(config, want.queue), e.name)) !== null;
        let q = queues.get(want.queue);
        if (inRedis && !q) queues.set(want.queue, (q = openQueue(config, want.queue, client)));
        const s = q && inRedis ? await q.getJobScheduler(e.name).catch(() => undefined) : undefined;
        base.synced = !!s && compareItems(want, schedulerItem(want.queue, s)).length === 0;
        if (s && base.synced) {
          if (e.everyMs !== undefined && s.next) anchor = s.next;
          if (s.next) base.lastRun = await lastJobRun(q!, e, s.next, now);
        }
      } else {
        base.synced = null;
      }
      base.next = nextRuns(e, now, options.count, { anchorMs: anchor }).map((d) => isoInZone(d.getTime(), e.timezone));
      out.push(base);
    }
    return out;
  } finally {
    await Promise.all([...queues.values()].map((q) => q.close()));
  }
}

/**
 * A job scheduler's runs are jobs with ids `repeat:<name>:<millis>`. The one at `next` is the run to
 * come (or, when it is due and no worker took it yet, the one waiting); the one before is the last run.
 */
async function lastJobRun(queue: Queue, e: PlannedEntry, next: number, now: number): Promise<LastRun | null> {
  const candidates: number[] = [];
  if (next <= now) candidates.push(next);
  const prev = previousRun(e, next);
  if (prev !== undefined) candidates.push(prev);
  for (const millis of candidates) {
    const job = await queue.getJob(`repeat:${e.name}:${millis}`);
    if (!job) continue;
    const state = await job.getState();
    return {
      at: new Date(job.processedOn ?? millis).toISOString(),
      status: state,
      jobId: job.id,
      durationMs: job.finishedOn && job.processedOn ? job.finishedOn - job.processedOn : undefined,
      error: job.failedReason || undefined,
    };
  }
  return null;
}

function previousRun(e: PlannedEntry, next: number): number | undefined {
  if (e.everyMs !== undefined) return next - e.everyMs;
  try {
    return CronExpressionParser.parse(e.cron!, { tz: e.timezone, currentDate: new Date(next) })
      .prev()
      .getTime();
  } catch {
    return undefined;
  }
}
