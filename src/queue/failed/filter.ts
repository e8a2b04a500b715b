import { usageError } from '../../errors.js';
import { parseDuration } from '../../util/duration.js';
import type { JobRecord } from '../walk/job-hash.js';

/**
 * The filters of `failed list|retry|export`, as operators type them.
 *
 * `--name`: what they see in the table (`FetchStockData:getStockQuote`), what they used to type in the
 * old stack (`App\Jobs\FetchStockData`, `FetchStockData@getStockQuote`), or just the method
 * (`getStockQuote`). Case-insensitive, `*` is a wildcard, a comma separates alternatives.
 * `--error`: a regular expression, case-insensitive, searched in the failure reason.
 * `--since`: a duration back from now (`90m`, `1h`, `2d`) or a date/time (`2024-05-01T10:00`).
 */
export interface FailedFilter {
  /** Queues to look in; all discovered queues when empty. */
  queues?: string[];
  name?: string;
  error?: string;
  /** Failed at or after this time (ms since the epoch). */
  since?: number;
}

export interface CompiledFilter {
  queues?: string[];
  since?: number;
  /** Null when no --name/--error: every readable job matches. */
  match: ((job: JobRecord) => boolean) | null;
  /** Anything besides --queue: `retry all` then cannot use BullMQ's server-side bulk move. */
  narrows: boolean;
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`, 'i');
}

/** One alternative of --name → a predicate on (name, method). */
function nameAlternative(text: string): (name: string, method: string | undefined) => boolean {
  // Laravel's fully qualified class names: App\Jobs\FetchStockData → FetchStockData.
  const whole = text.includes('\\') ? text.slice(text.lastIndexOf('\\') + 1) : text;
  const wholeRe = globToRegExp(whole);
  const m = /^(.+?)(?:::|[:@#/\s]+)(.+)$/.exec(whole);
  if (!m) return (name, method) => wholeRe.test(name) || (method !== undefined && wholeRe.test(method));
  const nameRe = globToRegExp(m[1]);
  const methodRe = globToRegExp(m[2]);
  // A job name may itself contain a separator ("emails:send"): the whole text matching the name counts too.
  return (name, method) => wholeRe.test(name) || (nameRe.test(name) && method !== undefined && methodRe.test(method));
}

export function nameMatcher(spec: string): (name: string, method: string | undefined) => boolean {
  const alternatives = spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(nameAlternative);
  if (alternatives.length === 0) throw usageError('--name is empty', 'give a job name, e.g. --name FetchStockData or --name FetchStockData:getStockQuote');
  return (name, method) => alternatives.some((alt) => alt(name, method));
}

export function errorMatcher(source: string): RegExp {
  try {
    return new RegExp(source, 'i');
  } catch (e) {
    throw usageError(
      `--error is not a valid regular expression: ${(e as Error).message}`,
      'escape special characters, e.g. --error "HTTP 5\\d\\d" or --error "\\(timeout\\)"',
    );
  }
}

/** `--since` (or `--until`, named by `flag`): a duration back from `now`, or an absolute date/time. */
export function parseSince(text: string, now = Date.now(), flag = '--since'): number {
  const ms = parseDuration(text);
  if (ms !== undefined) return now - ms;
  if (/^\d{4}-\d{2}-\d{2}/.test(text.trim())) {
    const t = Date.parse(text.trim());
    if (Number.isFinite(t)) return t;
  }
  throw usageError(`${flag} must be a duration like 30m, 1h, 2d or a date like 2024-05-01T10:00 (got "${text}")`);
}

export function compileFilter(filter: FailedFilter): CompiledFilter {
  const byName = filter.name !== undefined ? nameMatcher(filter.name) : null;
  const byError = filter.error !== undefined ? errorMatcher(filter.error) : null;
  const match = byName || byError ? (job: JobRecord) => (!byName || byName(job.name, job.method)) && (!byError || byError.test(job.failedReason)) : null;
  return {
    queues: filter.queues && filter.queues.length ? filter.queues : undefined,
    since: filter.since,
    match,
    narrows: match !== null || filter.since !== undefined,
  };
}
