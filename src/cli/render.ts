import { Chalk, type ChalkInstance } from 'chalk';
import Table from 'cli-table3';
import { writeSync } from 'node:fs';
import { maskSecrets } from '../config/endpoints.js';
import { JobDoneEvent, JobStartedEvent } from '../runtime/events.js';
import { isoNow, putIsoTime } from './log-time.js';

/**
 * Output discipline: stdout carries the result only; logs, progress and errors go to stderr. With
 * --json, stdout is exactly one JSON document (or one object per line for streams and event logs).
 * Colour only on a TTY, never with NO_COLOR, --no-color or --json.
 */
export interface OutputOptions {
  json?: boolean;
  color?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

/** Where an Output writes: the process' stdout and stderr, or a test's buffers. */
export interface OutputStreams {
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: { write(text: string): unknown; isTTY?: boolean };
}

export class Output {
  readonly json: boolean;
  readonly quiet: boolean;
  readonly verbose: boolean;
  readonly stdoutIsTTY: boolean;
  readonly stderrIsTTY: boolean;
  readonly c: ChalkInstance;
  private readonly streams: OutputStreams;

  constructor(opts: OutputOptions = {}, env: NodeJS.ProcessEnv = process.env, streams: OutputStreams = { stdout: process.stdout, stderr: process.stderr }) {
    this.json = !!opts.json;
    this.quiet = !!opts.quiet;
    this.verbose = !!opts.verbose;
    this.streams = streams;
    this.stdoutIsTTY = !!streams.stdout.isTTY;
    this.stderrIsTTY = !!streams.stderr.isTTY;
    const colour = opts.color !== false && !this.json && env.NO_COLOR === undefined && env.TERM !== 'dumb' && this.stdoutIsTTY;
    this.c = new Chalk({ level: colour ? 1 : 0 });
  }

  /** One line of result on stdout. */
  line(text = ''): void {
    this.streams.stdout.write(`${text}\n`);
  }

  /** The command's result: JSON when asked, else the human rendering. */
  result(data: unknown, human: () => void): void {
    if (this.json) this.line(JSON.stringify(data));
    else human();
  }

  /** Progress and notes on stderr; silent with -q. */
  info(text: string): void {
    if (!this.quiet) this.streams.stderr.write(`${maskSecrets(text)}\n`);
  }

  warn(text: string): void {
    this.streams.stderr.write(`${this.c.yellow('warning:')} ${maskSecrets(text)}\n`);
  }

  debug(text: string): void {
    if (this.verbose) this.streams.stderr.write(`${this.c.dim(maskSecrets(text))}\n`);
  }

  /** A line on stderr as given, even with -q: errors a command reports beside its result. */
  err(text: string): void {
    this.streams.stderr.write(`${text}\n`);
  }

  /**
   * A progress count on one stderr line, redrawn at most every 200 ms; only on a terminal and
   * without -q. `clear()` erases it before the result.
   */
  progress(): { update(text: string): void; clear(): void } {
    const shown = this.stderrIsTTY && !this.quiet;
    let last = 0;
    return {
      update: (text) => {
        if (shown && Date.now() - last > 200) {
          last = Date.now();
          this.streams.stderr.write(`\r${text}`);
        }
      },
      clear: () => {
        if (shown) this.streams.stderr.write('\r\x1b[K');
      },
    };
  }

  table(head: string[], rows: (string | number | null | undefined)[][]): string {
    const t = new Table({
      head: head.map((h) => this.c.bold(h)),
      style: { head: [], border: [], compact: true },
      chars: {
        top: '',
        'top-mid': '',
        'top-left': '',
        'top-right': '',
        bottom: '',
        'bottom-mid': '',
        'bottom-left': '',
        'bottom-right': '',
        left: '',
        'left-mid': '',
        mid: '',
        'mid-mid': '',
        right: '',
        'right-mid': '',
        middle: '  ',
      },
    });
    for (const r of rows) t.push(r.map((v) => (v === null || v === undefined ? '-' : String(v))));
    return t
      .toString()
      .split('\n')
      .map((l) => l.replace(/^ /, '').trimEnd())
      .join('\n');
  }

  /** Aligned `key  value` lines. */
  kv(pairs: [string, string | number | boolean | null | undefined][]): string {
    const w = Math.max(0, ...pairs.map(([k]) => k.length));
    return pairs.map(([k, v]) => `${this.c.dim(k.padEnd(w))}  ${v === null || v === undefined ? '-' : String(v)}`).join('\n');
  }

  status(s: 'ok' | 'warn' | 'fail'): string {
    return s === 'ok' ? this.c.green('ok') : s === 'warn' ? this.c.yellow('warn') : this.c.red('fail');
  }
}

/**
 * Long-running commands log one line per event: JSON objects when stdout is not a TTY (or --json),
 * readable lines on a terminal. Events come from the runtime as plain objects.
 */
export interface LogEvent {
  level?: 'info' | 'warn' | 'error' | 'debug';
  event: string;
  msg?: string;
  [field: string]: unknown;
}

export function eventLogger(out: Output): (e: LogEvent) => void {
  const write = batchedStdout();
  return (e) => {
    // The two lines of every job, as JSON: straight into the write buffer (see queueJobLine).
    if ((e instanceof JobStartedEvent || e instanceof JobDoneEvent) && !out.quiet && (out.json || !out.stdoutIsTTY) && queueJobLine(e)) {
      lineQueued();
      return;
    }
    const line = formatEvent(out, e);
    if (line !== undefined) write(line);
  };
}

/** A string that needs no JSON escaping and cannot hold a URL (no quote, backslash, slash or control character). */
const PLAIN = /^[\w .:#@+=,;()[\]{}<>!?*&%^~|$'-]*$/;
const SAFE_KEY = /^[A-Za-z_$][\w$]*$/;
const LEVELS = new Set(['info', 'warn', 'error', 'debug']);
/** `,"key":` per plain field name, made once per name. */
const keyTexts = new Map<string, string>();

/** `,"key":` for a plain field name; undefined for one that needs escaping. */
function keyText(k: string): string | undefined {
  let text = keyTexts.get(k);
  if (text === undefined && SAFE_KEY.test(k)) {
    text = `,"${k}":`;
    if (keyTexts.size < 1000) keyTexts.set(k, text);
  }
  return text;
}

/**
 * One event as a JSON line, `{"time","level",…the event's fields}`, with secrets in URLs masked: the
 * same text as `JSON.stringify({ time, level, ...e })`, built field by field. Plain strings and
 * numbers (a job's name, id, queue, duration) are written as they are, and a line whose strings are
 * all plain cannot hold a URL, so it is not scanned for one. This runs twice per job in a worker
 * (processing, processed); the generic path cost ~1 µs per line (profiled, bench/profile-worker.mjs).
 */
function jsonLine(e: LogEvent): string {
  const level = e.level ?? 'info';
  if (e.time !== undefined || !LEVELS.has(level)) return maskSecrets(JSON.stringify({ time: isoNow(), level, ...e }));
  let line = `{"time":"${isoNow()}","level":"${level}"`;
  let scan = false;
  for (const k in e) {
    if (k === 'level') continue;
    const v = e[k];
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
    let key = keyText(k);
    if (key === undefined) {
      key = `,${JSON.stringify(k)}:`;
      scan = true;
    }
    if (typeof v === 'string') {
      if (PLAIN.test(v)) line += `${key}"${v}"`;
      else {
        line += key + JSON.stringify(v);
        scan = true;
      }
    } else if (typeof v === 'number') line += key + (Number.isFinite(v) ? String(v) : 'null');
    else if (typeof v === 'boolean') line += key + String(v);
    else {
      const json = JSON.stringify(v);
      if (json === undefined) continue;
      line += key + json;
      scan = true;
    }
  }
  line += '}';
  return scan ? maskSecrets(line) : line;
}

/** Whether a job's or queue's name is plain (see PLAIN), remembered for the few names a worker sees. */
const plainNames = new Map<string, boolean>();

function plainName(name: string): boolean {
  let plain = plainNames.get(name);
  if (plain === undefined) {
    plain = PLAIN.test(name);
    if (plainNames.size < 1000) plainNames.set(name, plain);
  }
  return plain;
}

/** A job id that needs no escaping and holds no slash (ids are mostly numbers; custom ones vary). */
function plainId(id: string): boolean {
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c || c === 0x2f) return false;
  }
  return true;
}

/**
 * The per-job lines from a template: the same text jsonLine makes of them (a test compares the two),
 * at a third of its cost. Undefined (the generic path) when a name or id needs escaping.
 */
function jobLine(e: JobStartedEvent | JobDoneEvent): string | undefined {
  if (e.id === undefined || !plainName(e.job) || !plainName(e.queue) || !plainId(e.id)) return undefined;
  const head = `{"time":"${isoNow()}","level":"info","event":"${e.event}","msg":"${e.msg}","queue":"${e.queue}","job":"${e.job}","id":"${e.id}"`;
  if (e instanceof JobStartedEvent) return Number.isFinite(e.attempt) ? `${head},"attempt":${e.attempt}}` : undefined;
  if (e.durationMs === undefined) return `${head}}`;
  return Number.isFinite(e.durationMs) ? `${head},"durationMs":${e.durationMs}}` : undefined;
}

/** One event as its log line (without the newline), or undefined when -q/-v filter it out. */
export function formatEvent(out: Output, e: LogEvent): string | undefined {
  if (e.level === 'debug' && !out.verbose) return undefined;
  if (out.quiet && (e.level ?? 'info') === 'info') return undefined;
  if (out.json || !out.stdoutIsTTY) return ((e instanceof JobStartedEvent || e instanceof JobDoneEvent) && jobLine(e)) || jsonLine(e);
  const { level = 'info', event, msg, ...rest } = e;
  const ts = new Date().toISOString().replace('T', ' ').slice(0, 19);
  const tag = level === 'error' ? out.c.red(event) : level === 'warn' ? out.c.yellow(event) : out.c.cyan(event);
  const fields = Object.entries(rest)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${out.c.dim(k + '=')}${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return maskSecrets(`${out.c.dim(ts)} ${tag}${msg ? ' ' + msg : ''}${fields ? ' ' + fields : ''}`);
}

/** Lines wait at most this long, or until this many bytes are queued. */
const FLUSH_MS = 25;
const FLUSH_BYTES = 64 * 1024;
/**
 * The first batches are written at 4 KB, the rest at FLUSH_BYTES. V8 compiles a call it never saw
 * made as a deoptimisation, and it records what a function calls only from its ~8th run on: where
 * batches rarely fill before their timer (a worker at concurrency 10 writes ~30 KB per 25 ms), the
 * first full one came thousands of jobs in and threw away the optimised code of the per-job path
 * it was inlined into (`begin`, `completed`: ~20 ms of recompiling per worker process, seen with
 * --trace-deopt). Ten small batches make those calls, and flushPending's own, within the first few
 * hundred lines.
 */
const SMALL_BATCH_BYTES = 4 * 1024;
let smallBatchesLeft = 10;

/** Queued lines as UTF-8, written into the buffer as each line is made (allocated at the first line). */
let pending = Buffer.alloc(0);
let pendingBytes = 0;
let flushTimer: NodeJS.Timeout | undefined;
let exitHookInstalled = false;

function flushPending(): void {
  if (flushTimer) clearTimeout(flushTimer);
  flushTimer = undefined;
  if (pendingBytes === 0) return;
  const text = pending.subarray(0, pendingBytes);
  // The next line gets a new buffer: a pipe may still hold this one after write() returns.
  pending = Buffer.alloc(0);
  pendingBytes = 0;
  process.stdout.write(text);
}

/** Appends `line` and a newline to the queued bytes (flushing first when it might not fit). */
function queueLine(line: string): void {
  // At most 3 bytes per UTF-16 unit, and the newline.
  const most = line.length * 3 + 1;
  if (pendingBytes + most > pending.length) {
    flushPending();
    pending = Buffer.allocUnsafe(Math.max(most, 2 * FLUSH_BYTES));
  }
  pendingBytes += pending.write(line, pendingBytes);
  pending[pendingBytes++] = 0x0a;
}

/**
 * The bytes of one (queue, job name)'s per-job lines around the id, made at its first line: the
 * `processing` and `processed` heads up to `"msg":"<name> #`, and the middle from there to `"id":"`.
 */
interface JobLineParts {
  started: Buffer;
  done: Buffer;
  middle: Buffer;
}

const latin1 = (s: string) => Buffer.from(s, 'latin1');
const JOB_OPEN = latin1('{"time":"');
const JOB_ATTEMPT = latin1('","attempt":');
const JOB_DURATION = latin1('","durationMs":');
/** A number of up to 24 characters, the closing `}` and the newline. */
const JOB_TAIL_MOST = JOB_DURATION.length + 26;
/** Parts per queue, then per job name; null for a name that needs escaping (it takes the generic path). */
const jobLineParts = new Map<string, Map<string, JobLineParts | null>>();
let jobLinePartsCount = 0;
/** Names a worker sees are few; a producer inventing names cannot grow this past it. */
const JOB_LINE_PARTS_MAX = 1000;

/** The parts for `queue` and `name`; null if either needs escaping, undefined past the cap. */
function jobLinePartsFor(queue: string, name: string): JobLineParts | null | undefined {
  let byName = jobLineParts.get(queue);
  let parts = byName?.get(name);
  if (parts !== undefined) return parts;
  if (jobLinePartsCount >= JOB_LINE_PARTS_MAX) return undefined;
  parts =
    PLAIN.test(queue) && PLAIN.test(name)
      ? {
          started: latin1(`","level":"info","event":"processing","msg":"${name} #`),
          done: latin1(`","level":"info","event":"processed","msg":"${name} #`),
          middle: latin1(`","queue":"${queue}","job":"${name}","id":"`),
        }
      : null;
  if (!byName) jobLineParts.set(queue, (byName = new Map()));
  byName.set(name, parts);
  jobLinePartsCount++;
  return parts;
}

/** toISOString's length, 24 (27 past the year 9999). */
const TIME_MOST = 27;

/** Copies an ASCII string (checked by the caller: plainId) into `b` at `o`. */
function putAscii(b: Buffer, o: number, s: string): number {
  for (let i = 0; i < s.length; i++) b[o + i] = s.charCodeAt(i);
  return o + s.length;
}

function putBytes(b: Buffer, o: number, bytes: Buffer): number {
  b.set(bytes, o);
  return o + bytes.length;
}

/**
 * A count or duration as JSON.stringify writes it (null if not finite); integers digit by digit,
 * without a string. Both loops run their body at least once, whatever the number: a statement V8
 * first sees run after optimising (`end++` for the first duration of 10 ms or more) deoptimises
 * the per-job path.
 */
function putNumber(b: Buffer, o: number, n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) return putAscii(b, o, JSON.stringify(n));
  let end = o;
  let m = n;
  do {
    end++;
    m = Math.floor(m / 10);
  } while (m > 0);
  let i = end;
  m = n;
  do {
    b[--i] = 0x30 + (m % 10);
    m = Math.floor(m / 10);
  } while (m > 0);
  return end;
}

/**
 * Queues one per-job line as bytes, copied into the batch's buffer from parts made once per (queue,
 * job name) and the time made once per ms: the text jobLine makes (a test compares the two), without
 * building it as a string first. A string line is ~16 pieces joined, then encoded: ~700 bytes of
 * garbage per line, two lines per job, and in the worker (its CPU profile) the costliest part of
 * what rqctl does per job. False, and nothing queued, when a name or id needs escaping: the caller
 * takes the generic path.
 */
function queueJobLine(e: JobStartedEvent | JobDoneEvent): boolean {
  const { id } = e;
  if (id === undefined || !plainId(id)) return false;
  const started = e instanceof JobStartedEvent;
  const n = started ? e.attempt : e.durationMs;
  if (typeof n !== 'number' && (started || n !== undefined)) return false;
  const parts = jobLinePartsFor(e.queue, e.job);
  if (!parts) return false;
  const head = started ? parts.started : parts.done;
  const most = JOB_OPEN.length + TIME_MOST + head.length + parts.middle.length + 2 * id.length + JOB_TAIL_MOST;
  if (pendingBytes + most > pending.length) {
    flushPending();
    pending = Buffer.allocUnsafe(Math.max(most, 2 * FLUSH_BYTES));
  }
  const b = pending;
  let o = putBytes(b, pendingBytes, JOB_OPEN);
  o = putIsoTime(b, o, Date.now());
  o = putBytes(b, o, head);
  o = putAscii(b, o, id);
  o = putBytes(b, o, parts.middle);
  o = putAscii(b, o, id);
  if (n === undefined) {
    b[o++] = 0x22; // "
  } else {
    o = putBytes(b, o, started ? JOB_ATTEMPT : JOB_DURATION);
    o = putNumber(b, o, n);
  }
  b[o++] = 0x7d; // }
  b[o++] = 0x0a;
  pendingBytes = o;
  return true;
}

/** After a line was queued: written now if the batch is full, else within FLUSH_MS. */
function lineQueued(): void {
  if (pendingBytes >= FLUSH_BYTES || (smallBatchesLeft > 0 && pendingBytes >= SMALL_BATCH_BYTES)) {
    smallBatchesLeft--;
    flushPending();
  } else if (!flushTimer) flushTimer = setTimeout(flushPending, FLUSH_MS).unref();
}

/**
 * Event lines are written in batches, at most 25 ms late, not one write per line. On Linux, stdout
 * to a pipe or a file is synchronous: a worker logs two lines per job, and one write(2) per line cost
 * 15–20 µs of CPU each (profiled, 3 workers × concurrency 10: a third of what rqctl's worker added
 * per job over a raw BullMQ Worker). Each line is encoded into the batch's buffer at once: a line
 * kept as a string until the batch is joined, up to 25 ms and megabytes of other allocations later,
 * is a tree of string pieces no longer in the CPU's caches (measured in the worker: the two lines
 * cost ~4 µs per job that way). Lines still queued when the process exits are written then.
 */
function batchedStdout(): (line: string) => void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      if (pendingBytes === 0) return;
      const text = pending.subarray(0, pendingBytes);
      pendingBytes = 0;
      try {
        writeSync(1, text);
      } catch {}
    });
  }
  return (line) => {
    queueLine(line);
    lineQueued();
  };
}
