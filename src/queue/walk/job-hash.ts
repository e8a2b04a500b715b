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

/** The hash fields listing and filtering need (not the stack trace: it can be large). `listRecord` reads them by position. */
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

function int(v: string | null | undefined): number | null {
  if (v === null || v === undefined || v === '') return null;
  const n = Number.parseInt(v, 10);
  return Number.isFinite(n) ? n : null;
}

function firstLine(s: string): string {
  const i = s.indexOf('\n');
  return i < 0 ? s : s.slice(0, i);
}

/** A job's fields as stored: every field (HGETALL), or LIST_FIELDS (HMGET; absent ones null). */
export type JobFields = Record<string, string | null | undefined>;

export function isEmpty(raw: JobFields): boolean {
  for (const k in raw) if (raw[k] !== null && raw[k] !== undefined) return false;
  return true;
}

/**
 * Parses one job hash. Returns the corrupt entry when BullMQ could not load it: a missing hash (a
 * stale id in a state's set or list), or a field BullMQ JSON.parses when it loads a job (data, opts,
 * progress, parent: `Job.fromJSON`) that is not JSON. This runs for every job a walk reads, so it
 * parses each field once and builds one object.
 */
export function parseJobHash(queue: string, id: string, raw: JobFields | null, readError?: Error | null): ReadResult {
  if (readError) {
    const msg = /WRONGTYPE/.test(readError.message) ? 'the job key is not a hash (WRONGTYPE)' : firstLine(readError.message);
    return { ok: false, corrupt: { id, queue, error: msg } };
  }
  if (!raw || isEmpty(raw)) return { ok: false, corrupt: { id, queue, error: MISSING_HASH } };
  let field = 'data';
  let data: unknown;
  let opts: unknown;
  try {
    data = raw.data ? JSON.parse(raw.data) : undefined;
    field = 'opts';
    opts = raw.opts ? JSON.parse(raw.opts) : undefined;
    field = 'progress';
    if (raw.progress) JSON.parse(raw.progress);
    field = 'parent';
    if (raw.parent) JSON.parse(raw.parent);
  } catch (e) {
    return { ok: false, corrupt: { id, queue, error: `${field} is not valid JSON: ${(e as Error).message}`, ...(raw.name ? { name: raw.name } : {}) } };
  }
  data ??= {};
  const o = opts && typeof opts === 'object' ? (opts as Record<string, unknown>) : {};
  const method =
    data && typeof data === 'object' && typeof (data as { method?: unknown }).method === 'string' ? (data as { method: string }).method : undefined;
  const attempts = typeof o.attempts === 'number' && o.attempts > 0 ? o.attempts : 1;
  const job: JobRecord = {
    id,
    queue,
    name: raw.name ?? '',
    data,
    opts: o,
    failedReason: raw.failedReason ?? '',
    attemptsMade: int(raw.atm) ?? int(raw.attemptsMade) ?? 0,
    attempts,
    timestamp: int(raw.timestamp),
    processedOn: int(raw.processedOn),
    finishedOn: int(raw.finishedOn),
    delay: int(raw.delay) ?? 0,
    priority: int(raw.priority) ?? 0,
  };
  if (method) job.method = method;
  return { ok: true, job };
}

/** HMGET of LIST_FIELDS → a record of them (an object literal: one shape for every job). */
function listRecord(v: (string | null)[] | null): JobFields | null {
  if (!v) return null;
  return {
    name: v[0],
    data: v[1],
    opts: v[2],
    failedReason: v[3],
    atm: v[4],
    attemptsMade: v[5],
    timestamp: v[6],
    processedOn: v[7],
    finishedOn: v[8],
    delay: v[9],
    priority: v[10],
    progress: v[11],
    parent: v[12],
  };
}

export type JobRead = { result: ReadResult; raw: Record<string, string> | null };
type Replies = Awaited<ReturnType<typeof execPipeline>>;

/** Sends the reads of `ids` in one pipeline (HGETALL with `full`, else HMGET of LIST_FIELDS); the replies become `StoredJob`s. */
export function requestJobs(client: RedisClient, prefix: string, queue: string, ids: readonly string[], full = false): Promise<Replies> {
  if (ids.length === 0) return Promise.resolve([]);
  const pipe = client.pipeline();
  for (const id of ids) {
    if (full) pipe.hgetall(jobKey(prefix, queue, id));
    else pipe.hmget(jobKey(prefix, queue, id), ...LIST_FIELDS);
  }
  return execPipeline(pipe);
}

/**
 * One job as read, parsed when first asked (`read`): a walk that filters on a few fields (`jobs
 * find`) looks at `fields` first and parses in full only the jobs it keeps.
 */
export class StoredJob {
  private parsed?: ReadResult;

  constructor(
    readonly queue: string,
    readonly id: string,
    /** The fields as read; null when the read failed (`error`). */
    readonly fields: JobFields | null,
    readonly error: Error | null,
    /** Every field as stored, for reads with `full`. */
    readonly raw: Record<string, string> | null,
  ) {}

  get read(): ReadResult {
    return (this.parsed ??= parseJobHash(this.queue, this.id, this.fields, this.error));
  }

  /** No hash at all (no read error either). */
  get missing(): boolean {
    return !this.error && (!this.fields || isEmpty(this.fields));
  }
}

export function storedJobs(queue: string, ids: readonly string[], replies: Replies, full = false): StoredJob[] {
  return ids.map((id, i) => {
    const [err, value] = replies[i] ?? [new Error('no reply'), null];
    if (err) return new StoredJob(queue, id, null, err, null);
    if (full) return new StoredJob(queue, id, value as Record<string, string>, null, value as Record<string, string>);
    return new StoredJob(queue, id, listRecord(value as (string | null)[]), null, null);
  });
}

/**
 * Reads the hashes of `ids` in one pipeline. `full` reads every field (HGETALL: stack trace,
 * return value, everything), else only LIST_FIELDS.
 */
export async function readJobs(client: RedisClient, prefix: string, queue: string, ids: readonly string[], full = false): Promise<JobRead[]> {
  return storedJobs(queue, ids, await requestJobs(client, prefix, queue, ids, full), full).map((j) => ({ result: j.read, raw: j.raw }));
}
