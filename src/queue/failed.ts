import type { Config } from '../config/resolve.js';
import { ExitCode, RqctlError, usageError } from '../errors.js';
import type { RedisClient } from '../redis/connect.js';
import { FailedSetCursor } from './failed-cursor.js';
import { compileFilter, type CompiledFilter, type FailedFilter } from './failed-filter.js';
import { failedKey, jobKey, readJobs, type CorruptJob, type FailedJob, type ReadResult } from './failed-jobs.js';
import { discoverQueues } from './queues.js';
import { execPipeline } from '../redis/pipeline.js';

/** Failed jobs: list, show, export (read-only). Retry and removal are in failed-ops.ts. */

export const PAGE_SIZE = 1000;

/** The queues a command looks at: the ones asked for, else every queue found in Redis. */
export async function resolveQueues(config: Config, client: RedisClient, asked?: readonly string[]): Promise<string[]> {
  if (asked && asked.length) return [...new Set(asked)];
  return discoverQueues(config, client);
}

export interface WalkPage {
  queue: string;
  entries: { id: string; score: string; read: ReadResult; raw: Record<string, string> | null }[];
  cursor: FailedSetCursor;
}

/**
 * Every page of one queue's failed set (newest first), hashes read in one pipeline per page.
 * `to`/`from` bound the failure time (ms).
 */
export async function* walkFailed(
  client: RedisClient,
  prefix: string,
  queue: string,
  opts: { since?: number; until?: number; full?: boolean; pageSize?: number; readOnly?: boolean } = {},
): AsyncGenerator<WalkPage> {
  const cursor = new FailedSetCursor(client, failedKey(prefix, queue), { from: opts.until, to: opts.since, pageSize: opts.pageSize ?? PAGE_SIZE });
  let page = await cursor.next();
  while (page) {
    const current = page;
    const reads = readJobs(
      client,
      prefix,
      queue,
      current.map((e) => e.id),
      opts.full,
    );
    // Read-only walks ask for the next page's ids while this page's hashes are on the wire (one
    // connection, so the commands pipeline). Callers that remove jobs must report removals first.
    const next = opts.readOnly ? cursor.next() : undefined;
    next?.catch(() => {});
    const r = await reads;
    yield { queue, cursor, entries: current.map((e, i) => ({ id: e.id, score: e.score, read: r[i].result, raw: r[i].raw })) };
    page = next ? await next : await cursor.next();
  }
}

export interface FailedListItem {
  id: string;
  queue: string;
  name: string;
  method?: string;
  failedReason: string;
  attemptsMade: number;
  attempts: number;
  timestamp: number | null;
  processedOn: number | null;
  finishedOn: number | null;
}

export interface FailedList {
  /** Readable failed jobs matching the filters (all of them, not only the ones listed). */
  total: number;
  /** Newest first, at most `limit`. */
  jobs: FailedListItem[];
  /** Unreadable hashes in the queues and time range looked at (never filtered by name or error: they cannot be judged). */
  corrupt: CorruptJob[];
  queues: string[];
}

function listItem(job: FailedJob): FailedListItem {
  return {
    id: job.id,
    queue: job.queue,
    name: job.name,
    ...(job.method ? { method: job.method } : {}),
    failedReason: job.failedReason,
    attemptsMade: job.attemptsMade,
    attempts: job.attempts,
    timestamp: job.timestamp,
    processedOn: job.processedOn,
    finishedOn: job.finishedOn,
  };
}

const newestFirst = (a: FailedListItem, b: FailedListItem) =>
  (b.finishedOn ?? 0) - (a.finishedOn ?? 0) || a.queue.localeCompare(b.queue) || b.id.localeCompare(a.id, undefined, { numeric: true });

/**
 * `failed list`: walks every failed set page by page; keeps only the newest `limit` jobs in memory
 * (0 = all) while counting every match.
 */
export async function listFailed(config: Config, client: RedisClient, filter: FailedFilter, limit: number): Promise<FailedList> {
  const f = compileFilter(filter);
  const queues = await resolveQueues(config, client, f.queues);
  const prefix = config.queue.prefix;
  let kept: FailedListItem[] = [];
  const corrupt: CorruptJob[] = [];
  let total = 0;
  for (const queue of queues) {
    for await (const page of walkFailed(client, prefix, queue, { since: f.since, readOnly: true })) {
      for (const e of page.entries) {
        if (!e.read.ok) {
          corrupt.push(e.read.corrupt);
          continue;
        }
        if (f.match && !f.match(e.read.job)) continue;
        total++;
        kept.push(listItem(e.read.job));
      }
      if (limit > 0 && kept.length > limit * 2) kept = kept.sort(newestFirst).slice(0, limit);
    }
  }
  kept.sort(newestFirst);
  if (limit > 0) kept = kept.slice(0, limit);
  return { total, jobs: kept, corrupt, queues };
}

export interface Located {
  id: string;
  queue: string;
}

/**
 * Finds which queue's failed set holds each id. BullMQ ids are unique per queue only (every queue
 * counts 1, 2, 3…), so without --queue an id in two failed sets is ambiguous: an error listing both,
 * and nothing is done. An id that is in no failed set is an error too (exit 2), saying where it is
 * when it exists in another state. All ids are checked before anything changes.
 */
export async function locateFailed(config: Config, client: RedisClient, ids: readonly string[], queuesAsked?: readonly string[]): Promise<Located[]> {
  const unique = [...new Set(ids)];
  const queues = await resolveQueues(config, client, queuesAsked);
  const prefix = config.queue.prefix;
  const pipe = client.pipeline();
  for (const id of unique) for (const q of queues) pipe.zscore(failedKey(prefix, q), id);
  const replies = await execPipeline(pipe);
  const located: Located[] = [];
  const missing: string[] = [];
  const ambiguous: { id: string; queues: string[] }[] = [];
  unique.forEach((id, i) => {
    const inQueues = queues.filter((_, j) => {
      const [err, score] = replies[i * queues.length + j] ?? [];
      return !err && score !== null && score !== undefined;
    });
    if (inQueues.length === 1) located.push({ id, queue: inQueues[0] });
    else if (inQueues.length === 0) missing.push(id);
    else ambiguous.push({ id, queues: inQueues });
  });
  if (ambiguous.length) {
    const list = ambiguous.map((a) => `${a.id} (in ${a.queues.join(', ')})`).join('; ');
    throw new RqctlError('JOB_AMBIGUOUS', ExitCode.usage, `failed job id${ambiguous.length > 1 ? 's' : ''} found in more than one queue: ${list}`, {
      hint: `job ids are unique per queue only: add --queue ${ambiguous[0].queues[0]} (or another of the queues listed)`,
      details: { ambiguous },
    });
  }
  if (missing.length) {
    // Say where a missing id is when it exists in another state: "not failed" reads better than "not found".
    const where = client.pipeline();
    for (const id of missing) for (const q of queues) where.exists(jobKey(prefix, q, id));
    const ex = await execPipeline(where);
    const notes = missing.map((id, i) => {
      const qs = queues.filter((_, j) => (ex[i * queues.length + j]?.[1] as number) === 1);
      return qs.length ? `${id} (exists in ${qs.join(', ')} but is not failed)` : id;
    });
    throw new RqctlError(
      'JOB_NOT_FOUND',
      ExitCode.usage,
      `no failed job ${notes.join(', ')} in ${queues.length === 1 ? `queue ${queues[0]}` : `queues ${queues.join(', ')}`}`,
      {
        hint: '`rqctl failed list` shows the failed jobs and their queues',
        details: { missing },
      },
    );
  }
  return located;
}

export interface FailedJobDetail {
  id: string;
  queue: string;
  state: 'failed';
  name: string;
  method?: string;
  data: unknown;
  opts: Record<string, unknown>;
  failedReason: string;
  stacktrace: string[];
  attemptsMade: number;
  attempts: number;
  timestamp: number | null;
  processedOn: number | null;
  finishedOn: number | null;
  delay: number;
  priority: number;
  parentKey?: string;
  logs: string[];
  logCount: number;
  /** Set when the hash cannot be loaded; `raw` then holds its fields as stored. */
  corrupt?: string;
  raw?: Record<string, string>;
}

function parseStack(text: string | undefined): string[] {
  if (!text) return [];
  try {
    const v = JSON.parse(text) as unknown;
    return Array.isArray(v) ? v.map(String) : [String(v)];
  } catch {
    return [text];
  }
}

export function detailFrom(queue: string, id: string, read: ReadResult, raw: Record<string, string> | null): Omit<FailedJobDetail, 'logs' | 'logCount'> {
  const r = raw ?? {};
  if (!read.ok) {
    return {
      id,
      queue,
      state: 'failed',
      name: r.name ?? '',
      data: r.data ?? null,
      opts: {},
      failedReason: r.failedReason ?? '',
      stacktrace: parseStack(r.stacktrace),
      attemptsMade: Number(r.atm ?? r.attemptsMade ?? 0) || 0,
      attempts: 0,
      timestamp: r.timestamp ? Number(r.timestamp) : null,
      processedOn: r.processedOn ? Number(r.processedOn) : null,
      finishedOn: r.finishedOn ? Number(r.finishedOn) : null,
      delay: Number(r.delay ?? 0) || 0,
      priority: Number(r.priority ?? 0) || 0,
      corrupt: read.corrupt.error,
      raw: r,
    };
  }
  const j = read.job;
  return {
    id,
    queue,
    state: 'failed',
    name: j.name,
    ...(j.method ? { method: j.method } : {}),
    data: j.data,
    opts: j.opts,
    failedReason: j.failedReason,
    stacktrace: parseStack(r.stacktrace),
    attemptsMade: j.attemptsMade,
    attempts: j.attempts,
    timestamp: j.timestamp,
    processedOn: j.processedOn,
    finishedOn: j.finishedOn,
    delay: j.delay,
    priority: j.priority,
    ...(r.parentKey ? { parentKey: r.parentKey } : {}),
  };
}

/** `failed show <id>`: everything about one failed job, corrupt ones included (raw fields). */
export async function showFailed(config: Config, client: RedisClient, id: string, queuesAsked?: readonly string[], logLines = 50): Promise<FailedJobDetail> {
  const [loc] = await locateFailed(config, client, [id], queuesAsked);
  const prefix = config.queue.prefix;
  const [read] = await readJobs(client, prefix, loc.queue, [loc.id], true);
  const logsKey = `${jobKey(prefix, loc.queue, loc.id)}:logs`;
  const [logs, count] = await Promise.all([client.lrange(logsKey, -logLines, -1), client.llen(logsKey)]);
  return { ...detailFrom(loc.queue, loc.id, read.result, read.raw), logs, logCount: count };
}

/** One line of `failed export`. Corrupt jobs are exported too (`corrupt` + their raw fields), for audits. */
export type ExportRecord = Omit<FailedJobDetail, 'logs' | 'logCount'>;

/**
 * `failed export`: every matching failed job, full detail, handed to `write` one at a time (which
 * may return a promise: backpressure). Memory holds one page.
 */
export async function exportFailed(
  config: Config,
  client: RedisClient,
  filter: FailedFilter,
  limit: number,
  write: (rec: ExportRecord) => void | Promise<void>,
): Promise<{ exported: number; corrupt: number; queues: string[] }> {
  const f: CompiledFilter = compileFilter(filter);
  const queues = await resolveQueues(config, client, f.queues);
  let exported = 0;
  let corrupt = 0;
  for (const queue of queues) {
    for await (const page of walkFailed(client, config.queue.prefix, queue, { since: f.since, full: true, readOnly: true })) {
      for (const e of page.entries) {
        if (limit > 0 && exported >= limit) return { exported, corrupt, queues };
        if (e.read.ok && f.match && !f.match(e.read.job)) continue;
        if (!e.read.ok) corrupt++;
        await write(detailFrom(queue, e.id, e.read, e.raw));
        exported++;
      }
    }
  }
  return { exported, corrupt, queues };
}

/** Checks queue names given on the command line. */
export function parseQueueList(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const list = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (list.length === 0) throw usageError('--queue is empty', 'give a queue name, e.g. --queue default (or a comma list)');
  return list;
}
