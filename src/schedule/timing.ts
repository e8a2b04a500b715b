import { CronExpressionParser } from 'cron-parser';
import type { PlannedEntry } from './entries.js';

/**
 * When entries run: pure functions of the entry and a point in time, so they can be tested across a
 * DST change from a fixed date. Cron entries use cron-parser, the library BullMQ computes job
 * scheduler runs with, so `schedule list` shows exactly what BullMQ will do. `every` entries run on
 * slots aligned to the epoch (every 15m = :00, :15, :30, :45 UTC), so every scheduler process agrees
 * on the tick without talking to the others.
 */

/** The first run strictly after `afterMs` (epoch ms); undefined if the cron never fires again. */
export function nextRunAfter(entry: PlannedEntry, afterMs: number): number | undefined {
  if (entry.everyMs !== undefined) return (Math.floor(afterMs / entry.everyMs) + 1) * entry.everyMs;
  try {
    return CronExpressionParser.parse(entry.cron!, { tz: entry.timezone, currentDate: new Date(afterMs) })
      .next()
      .getTime();
  } catch {
    return undefined;
  }
}

export interface NextRunsOptions {
  /**
   * For `every` job entries already in Redis: the run BullMQ has scheduled. BullMQ counts the
   * following runs from it (next + k × every), whatever the alignment.
   */
  anchorMs?: number;
}

/** The next `count` runs after `from`. */
export function nextRuns(entry: PlannedEntry, from: Date | number, count: number, options: NextRunsOptions = {}): Date[] {
  const start = typeof from === 'number' ? from : from.getTime();
  const out: Date[] = [];
  if (entry.everyMs !== undefined && options.anchorMs !== undefined) {
    const every = entry.everyMs;
    let t = options.anchorMs;
    if (t <= start) t += (Math.floor((start - t) / every) + 1) * every;
    for (let i = 0; i < count; i++) out.push(new Date(t + i * every));
    return out;
  }
  let t = start;
  for (let i = 0; i < count; i++) {
    const n = nextRunAfter(entry, t);
    if (n === undefined) break;
    out.push(new Date(n));
    t = n;
  }
  return out;
}

/** Time from this tick to the following one: how often the entry runs, around `tickMs`. */
export function intervalAt(entry: PlannedEntry, tickMs: number): number {
  if (entry.everyMs !== undefined) return entry.everyMs;
  const n = nextRunAfter(entry, tickMs);
  return n === undefined ? 86_400_000 : n - tickMs;
}

/**
 * The window `rqctl scheduler --once` looks at (like `schedule:run`, started by cron every minute):
 * the last minute up to now, or the last second for entries that tick in seconds. Trailing rather
 * than the calendar minute, so a tick in the middle of a minute (`every: 90s`) is run when it has
 * come, never before.
 */
export function onceWindow(entry: PlannedEntry, nowMs: number): { start: number; end: number } {
  const size = entry.seconds ? 1000 : 60_000;
  return { start: nowMs - size, end: nowMs };
}

/** The tick of this entry in the `--once` window (after `start`, not after now), if any. */
export function dueInWindow(entry: PlannedEntry, nowMs: number): number | undefined {
  const { start, end } = onceWindow(entry, nowMs);
  const t = nextRunAfter(entry, start);
  return t !== undefined && t <= end ? t : undefined;
}

/**
 * How long after its tick a run may still start. A scheduler whose Redis answered late (a failover,
 * a blocked event loop) skips a tick rather than firing a pile of stale ones at once.
 */
export function lateLimit(entry: PlannedEntry, tickMs: number): number {
  return Math.min(60_000, Math.max(1000, intervalAt(entry, tickMs)));
}

/**
 * How long a tick's lock lives. It must outlast clock skew between servers and the late limit, and a
 * `--once` run started later in the same minute; it need not live much longer (one key per tick).
 */
export function tickLockTtl(entry: PlannedEntry, tickMs: number): number {
  return Math.min(300_000, Math.max(10_000, 2 * intervalAt(entry, tickMs)));
}

const offsetFormatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = offsetFormatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      timeZoneName: 'longOffset',
    });
    offsetFormatters.set(tz, f);
  }
  return f;
}

/**
 * ISO 8601 in the entry's timezone: `2026-03-29T03:00:00.000+02:00`. In UTC it is exactly
 * `Date.toISOString()` (`…Z`).
 */
export function isoInZone(ms: number, tz: string): string {
  if (tz === 'UTC' || tz === 'Etc/UTC') return new Date(ms).toISOString();
  const parts = Object.fromEntries(
    formatter(tz)
      .formatToParts(new Date(ms))
      .map((p) => [p.type, p.value]),
  );
  const offset = parts.timeZoneName === 'GMT' ? '+00:00' : parts.timeZoneName.replace('GMT', '');
  const millis = String(((ms % 1000) + 1000) % 1000).padStart(3, '0');
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}.${millis}${offset}`;
}
