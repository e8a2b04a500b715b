import type { ReadResult } from './job-hash.js';
import type { JobState } from './states.js';

/** Everything about one job in any state (`jobs show`, `failed show`, the export lines); read-only. */
export interface JobDetail {
  id: string;
  queue: string;
  /** `unknown`: the hash exists but no state's key holds the id (a job half-removed by hand). */
  state: JobState | 'unknown';
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
  /** What the job returned (completed jobs; the text as stored when it is not JSON). */
  returnvalue?: unknown;
  parentKey?: string;
  logs: string[];
  logCount: number;
  /** Set when the hash cannot be loaded; `raw` then holds its fields as stored. */
  corrupt?: string;
  raw?: Record<string, string>;
}

/** A job's detail without its logs: one line of an export. */
export type JobRecordDetail = Omit<JobDetail, 'logs' | 'logCount'>;

function parseStack(text: string | undefined): string[] {
  if (!text) return [];
  try {
    const v = JSON.parse(text) as unknown;
    return Array.isArray(v) ? v.map(String) : [String(v)];
  } catch {
    return [text];
  }
}

function parseReturn(text: string | undefined): { returnvalue?: unknown } {
  if (text === undefined) return {};
  try {
    return { returnvalue: JSON.parse(text) as unknown };
  } catch {
    return { returnvalue: text };
  }
}

/** The detail of a job from its read result and (with HGETALL) its raw fields. */
export function jobDetail<S extends JobDetail['state']>(
  queue: string,
  id: string,
  state: S,
  read: ReadResult,
  raw: Record<string, string> | null,
): JobRecordDetail & { state: S } {
  const r = raw ?? {};
  if (!read.ok) {
    return {
      id,
      queue,
      state,
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
    state,
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
    ...parseReturn(r.returnvalue),
    ...(r.parentKey ? { parentKey: r.parentKey } : {}),
  };
}
