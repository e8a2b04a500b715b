import type { Config } from '../../config/resolve.js';
import type { RedisClient } from '../../redis/connect.js';
import { resolveQueues } from '../queues.js';
import { compileFilter, type FailedFilter } from './filter.js';
import { jobKey, readJobs, type ReadResult } from './job-hash.js';
import { locateFailed } from './locate.js';
import { walkFailed } from './walk.js';

/** Everything about failed jobs, one (`failed show`) or all that match (`failed export`); read-only. */

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

function detailFrom(queue: string, id: string, read: ReadResult, raw: Record<string, string> | null): ExportRecord {
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

export interface ExportResult {
  exported: number;
  corrupt: number;
  queues: string[];
}

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
): Promise<ExportResult> {
  const f = compileFilter(filter);
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
