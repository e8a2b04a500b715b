import type { RedisClient } from '../../redis/connect.js';
import { execPipeline } from '../../redis/pipeline.js';

/**
 * Reading BullMQ's job hashes without BullMQ's getters. `Queue.getFailed()` (and every other getter)
 * parses every hash of a page with JSON.parse and throws for the whole page when one `data` or `opts`
 * is corrupt, so rqctl reads the hashes itself (pipelined) and parses each one on its own: one bad
 * hash is reported, the others are listed.
 *
 * Key layout (BullMQ 1–6, docs/redis-keys.md): `<prefix>:<queue>:<id>` is the job hash,
 * `<prefix>:<queue>:<id>:logs` its log list; the states are sorted sets (`failed` and `completed`
 * scored by when the job finished, ms; `delayed`, `prioritized`, `waiting-children`) and lists
 * (`wait`, `active`, and BullMQ < 5's `paused`).
 */

/** A job whose hash could be read, in any state. */
export interface JobRecord {
  id: string;
  queue: string;
  /** The BullMQ job name (rqctl's job type, e.g. FetchStockData). */
  name: string;
  /** `data.method` for method-style jobs (FetchStockData getStockQuote). */
  method?: string;
  data: unknown;
  opts: Record<string, unknown>;
  /** The last failure reason ('' when it never failed). */
  failedReason: string;
  attemptsMade: number;
  /** Attempts the job was allowed (`opts.attempts`; 1 when unset). */
  attempts: number;
  /** When it was added (ms). */
  timestamp: number | null;
  processedOn: number | null;
  finishedOn: number | null;
  delay: number;
  priority: number;
}

/** A job whose hash BullMQ could not load. */
export interface CorruptJob {
  id: string;
  queue: string;
  error: string;
  /** The raw `name` field, when present (it is a plain string, readable even when `data` is not). */
  name?: string;
  /** The state it was found in (`jobs find`; `failed` commands leave it out). */
  state?: string;
}

/** The error of a corrupt entry whose hash does not exist (walks re-check these: the job may just have gone). */
export const MISSING_HASH = 'the job hash is missing (a stale id)';

export type ReadResult = { ok: true; job: JobRecord } | { ok: false; corrupt: CorruptJob };

export function failedKey(prefix: string, queue: string): string {
  return `${prefix}:${queue}:failed`;
}

export function jobKey(prefix: string, queue: string, id: string): string {
  return `${prefix}:${queue}:${id}`;
}

/** The hash fields listing and filtering need (not the stack trace: it can be large). */
export const LIST_FIELDS = [
  'name',
  'data',
  'opts',
  'failedReason',
  'atm',
  'attemptsMade',
  'timestamp',
  'processedOn',
  'finishedOn',
  'delay',
  'priority',
  'progress',
  'parent',
] as const;

/** Fields BullMQ JSON.parses when it loads a job (`Job.fromJSON`/`rawToJobJson`): any of them unparsable makes the job unloadable. */
const JSON_FIELDS = ['data', 'opts', 'progress', 'parent'] as const;

function int(v: string | null | undefined): number | null {
  if (v === null || v === undefined || v === '') return null;
  const n = Number.parseInt(v, 10);
  return Number.isFinite(n) ? n : null;
}

function firstLine(s: string): string {
  const i = s.indexOf('\n');
  return i < 0 ? s : s.slice(0, i);
}

/**
 * Parses one job hash as a flat field→value record (from HGETALL or HMGET). Returns the corrupt
 * entry when BullMQ could not load it: a missing hash (a stale id in a state's set or list), or a field it
 * JSON.parses that is not JSON.
 */
export function parseJobHash(queue: string, id: string, raw: Record<string, string | null | undefined> | null, readError?: Error | null): ReadResult {
  if (readError) {
    const msg = /WRONGTYPE/.test(readError.message) ? 'the job key is not a hash (WRONGTYPE)' : firstLine(readError.message);
    return { ok: false, corrupt: { id, queue, error: msg } };
  }
  if (!raw || Object.values(raw).every((v) => v === null || v === undefined)) {
    return { ok: false, corrupt: { id, queue, error: MISSING_HASH } };
  }
  const parsed: Record<string, unknown> = {};
  for (const field of JSON_FIELDS) {
    const text = raw[field];
    if (text === null || text === undefined || text === '') continue;
    try {
      parsed[field] = JSON.parse(text);
    } catch (e) {
      return { ok: false, corrupt: { id, queue, error: `${field} is not valid JSON: ${(e as Error).message}`, ...(raw.name ? { name: raw.name } : {}) } };
    }
  }
  const data = parsed.data ?? {};
  const opts = parsed.opts && typeof parsed.opts === 'object' ? (parsed.opts as Record<string, unknown>) : {};
  const method =
    data && typeof data === 'object' && typeof (data as { method?: unknown }).method === 'string' ? (data as { method: string }).method : undefined;
  const attempts = typeof opts.attempts === 'number' && opts.attempts > 0 ? opts.attempts : 1;
  return {
    ok: true,
    job: {
      id,
      queue,
      name: raw.name ?? '',
      ...(method ? { method } : {}),
      data,
      opts,
      failedReason: raw.failedReason ?? '',
      attemptsMade: int(raw.atm) ?? int(raw.attemptsMade) ?? 0,
      attempts,
      timestamp: int(raw.timestamp),
      processedOn: int(raw.processedOn),
      finishedOn: int(raw.finishedOn),
      delay: int(raw.delay) ?? 0,
      priority: int(raw.priority) ?? 0,
    },
  };
}

/** HMGET results → a field record. */
export function fieldsToRecord(fields: readonly string[], values: (string | null)[] | null): Record<string, string | null> | null {
  if (!values) return null;
  const rec: Record<string, string | null> = {};
  fields.forEach((f, i) => (rec[f] = values[i] ?? null));
  return rec;
}

/**
 * Reads the hashes of `ids` in one pipeline. `full` reads every field (HGETALL: stack trace,
 * return value, everything), else only LIST_FIELDS.
 */
export async function readJobs(
  client: RedisClient,
  prefix: string,
  queue: string,
  ids: readonly string[],
  full = false,
): Promise<{ result: ReadResult; raw: Record<string, string> | null }[]> {
  if (ids.length === 0) return [];
  const pipe = client.pipeline();
  for (const id of ids) {
    if (full) pipe.hgetall(jobKey(prefix, queue, id));
    else pipe.hmget(jobKey(prefix, queue, id), ...LIST_FIELDS);
  }
  const replies = await execPipeline(pipe);
  return ids.map((id, i) => {
    const [err, value] = replies[i] ?? [new Error('no reply'), null];
    if (err) return { result: parseJobHash(queue, id, null, err), raw: null };
    const rec = full ? (value as Record<string, string>) : fieldsToRecord(LIST_FIELDS, value as (string | null)[]);
    return { result: parseJobHash(queue, id, rec), raw: full ? (value as Record<string, string>) : null };
  });
}
