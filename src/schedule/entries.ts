import type { ScheduleEntry } from '../config/schema.js';
import { findJobType } from '../jobs/registry.js';
import { parseDuration } from '../util/duration.js';

/** A command may run this long unless its entry says otherwise. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 3_600_000;

/**
 * A schedule entry as the scheduler uses it: defaults applied, durations in milliseconds. The config
 * has already been validated (src/config/cron.ts), so nothing here fails on user input.
 */
export interface PlannedEntry {
  name: string;
  kind: 'job' | 'command';
  /** Normalised (single spaces); 5 fields, or 6 with seconds first. */
  cron?: string;
  /** As written in the config (`15m`), for display. */
  every?: string;
  everyMs?: number;
  /** IANA zone the cron is read in; `UTC` unless the entry says otherwise. */
  timezone: string;
  /** Ticks at second resolution (6-field cron, or `every` under a minute). */
  seconds: boolean;
  job?: { name: string; data: Record<string, unknown>; queue?: string };
  command?: string;
  timeoutMs: number;
  withoutOverlapping: boolean;
  onOneServer: boolean;
}

export function planEntry(e: ScheduleEntry): PlannedEntry {
  const cron = e.cron?.trim().split(/\s+/).join(' ');
  const everyMs = e.every === undefined ? undefined : parseDuration(e.every);
  return {
    name: e.name,
    kind: e.job ? 'job' : 'command',
    cron,
    every: e.every === undefined ? undefined : typeof e.every === 'number' ? `${e.every}s` : e.every.trim(),
    everyMs,
    timezone: e.timezone ?? 'UTC',
    seconds: cron ? cron.split(' ').length === 6 : (everyMs ?? 60_000) < 60_000,
    job: e.job ? { name: e.job.name, data: { ...(e.job.data ?? {}) }, queue: e.job.queue } : undefined,
    command: e.command,
    timeoutMs: (e.timeout === undefined ? undefined : parseDuration(e.timeout)) ?? DEFAULT_COMMAND_TIMEOUT_MS,
    withoutOverlapping: e.withoutOverlapping,
    onOneServer: e.onOneServer,
  };
}

export function planEntries(entries: readonly ScheduleEntry[]): PlannedEntry[] {
  return entries.map(planEntry);
}

/** `*\/5 * * * *` or `every 15m`: how an operator reads the entry's timing. */
export function describeWhen(e: PlannedEntry): string {
  return e.cron ?? `every ${e.every}`;
}

/** The queue a job entry's runs go to: the entry's own, the job type's, else `default`. */
export function entryQueue(entry: PlannedEntry): string {
  return entry.job?.queue ?? findJobType(entry.job!.name)?.queue ?? 'default';
}
