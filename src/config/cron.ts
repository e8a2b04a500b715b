import { createRequire } from 'node:module';
import type { CronExpressionParser as Parser } from 'cron-parser';
import { MAX_TIMER_MS, parseDuration } from '../util/duration.js';
import { queueNameProblem } from './queue-names.js';

/**
 * cron-parser (and luxon under it) is loaded only when an expression must really be parsed: every
 * command resolves the config, and the default schedule's expressions need no parser to be known
 * good. That keeps ~20–40 ms off the start of every command (BENCHMARKS.md).
 */
let parser: typeof Parser | undefined;
function cronParser(): typeof Parser {
  parser ??= (createRequire(import.meta.url)('cron-parser') as { CronExpressionParser: typeof Parser }).CronExpressionParser;
  return parser;
}

/** The default schedule's expressions (docs/scheduler.md), in UTC: valid, and known to fire. */
const KNOWN_GOOD = new Set(['*/5 * * * *', '0 * * * *', '*/15 * * * *']);
import type { ScheduleEntry } from './schema.js';

/**
 * Strict cron: exactly 5 fields (minute hour day month weekday), or 6 when seconds are written
 * explicitly. cron-parser alone accepts a 4-field `*\/5 * * *` and quietly treats it as something else;
 * an operator who typed four fields made a mistake and must be told which entry holds it.
 */
export function checkCron(expr: string, timezone?: string): string | undefined {
  const fields = expr.trim().split(/\s+/).filter(Boolean);
  if (fields.length === 1 && fields[0].startsWith('@')) {
    return `cron "${expr}": macros such as @hourly are not accepted; write the 5 fields (e.g. "0 * * * *" for @hourly, "0 0 * * *" for @daily)`;
  }
  if (fields.length !== 5 && fields.length !== 6) {
    return `cron "${expr}" has ${fields.length} field${fields.length === 1 ? '' : 's'}; expected 5 (minute hour day-of-month month day-of-week), or 6 with seconds first`;
  }
  // cron-parser reads `H` as a random value per parse unless given a seed, and BullMQ gives none: every
  // worker computing the next run would pick another minute.
  if (fields.some((f) => /(^|,)H(?![a-z])/i.test(f))) {
    return `cron "${expr}": H (hashed) values are not supported; write the number you want`;
  }
  if (timezone !== undefined) {
    const tzProblem = checkTimezone(timezone);
    if (tzProblem) return tzProblem;
  }
  if (timezone === undefined && KNOWN_GOOD.has(fields.join(' '))) return undefined;
  try {
    const it = cronParser().parse(fields.join(' '), { tz: timezone ?? 'UTC' });
    it.next();
  } catch (e) {
    const msg = (e as Error).message;
    // `0 0 31 2 *` (Feb 31st) parses in many cron tools and then simply never runs.
    if (/explicit day of month|loop limit/i.test(msg)) return `cron "${expr}" never fires: no date matches its day-of-month and month`;
    return `cron "${expr}" is invalid: ${msg}`;
  }
  return undefined;
}

export function checkTimezone(tz: string): string | undefined {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return undefined;
  } catch {
    return `unknown timezone "${tz}" (use an IANA name such as Europe/Berlin or UTC)`;
  }
}

export function validateScheduleEntries(entries: readonly ScheduleEntry[]): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  const seen = new Set<string>();
  entries.forEach((e, i) => {
    const at = `schedule.${i} (${e.name})`;
    if (seen.has(e.name)) problems.push({ path: at, message: `duplicate entry name "${e.name}"` });
    const queueProblem = e.job?.queue === undefined ? undefined : queueNameProblem(e.job.queue);
    if (queueProblem) problems.push({ path: at, message: queueProblem });
    seen.add(e.name);
    if (e.cron !== undefined) {
      const p = checkCron(e.cron, e.timezone);
      if (p) problems.push({ path: at, message: p });
    } else if (e.timezone !== undefined) {
      const p = checkTimezone(e.timezone);
      if (p) problems.push({ path: at, message: p });
    }
    if (e.every !== undefined) {
      const ms = parseDuration(e.every);
      if (ms === undefined || ms < 1000) problems.push({ path: at, message: `every "${e.every}" is not a duration of at least 1s (e.g. 30s, 15m, 1h)` });
    }
    if (e.timeout !== undefined) {
      const ms = parseDuration(e.timeout);
      if (ms === undefined || ms < 1000) problems.push({ path: at, message: `timeout "${e.timeout}" is not a duration of at least 1s` });
      else if (ms > MAX_TIMER_MS) problems.push({ path: at, message: `timeout "${e.timeout}" is longer than 24d (the longest a timer can wait)` });
    }
  });
  return problems;
}
