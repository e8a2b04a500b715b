/**
 * The time of a log line, as Date#toISOString writes it, made from the current second's text and the
 * milliseconds. V8's toISOString formats through a printf-like string stream: ~6,800 instructions a
 * call (callgrind, a worker under load), once per millisecond in a worker writing two lines per job;
 * the second's text is made once per second and the three digits of the milliseconds are written here.
 */

const latin1 = (s: string) => Buffer.from(s, 'latin1');

/** The second of `secondText`, ms since the epoch / 1000, floored; NaN until the first line. */
let second = NaN;
/** `YYYY-MM-DDTHH:MM:SS.` of that second (a six-digit signed year past 9999, as toISOString writes it). */
let secondText = '';
let secondBytes = Buffer.alloc(0);
/**
 * The first lines make the second's text anew whatever the second: V8 compiles a call it never saw
 * made as a deoptimisation, so a worker's first second boundary after its per-job path was optimised
 * threw that code away (`node --trace-deopt`: `queueJobLine`, recompiled once per process). 16 calls
 * (V8 starts recording after about 8) make the call a seen one.
 */
let warmUp = 16;

function enterSecond(s: number): void {
  second = s;
  // Everything up to the milliseconds, which are always the last ".sssZ" (4 characters after the dot).
  secondText = new Date(s * 1000).toISOString().slice(0, -4);
  secondBytes = latin1(secondText);
}

/** The three digits and the `Z` of `ms` (0–999). */
function millisText(ms: number): string {
  return `${ms < 100 ? (ms < 10 ? '00' : '0') : ''}${ms}Z`;
}

/** `new Date(now).toISOString()`, from the cached second. */
export function isoTime(now: number): string {
  const s = Math.floor(now / 1000);
  if (s !== second) enterSecond(s);
  return secondText + millisText(now - s * 1000);
}

/** The time now, as isoTime writes it. */
export function isoNow(): string {
  return isoTime(Date.now());
}

/** Writes isoTime(now) into `b` at `o` (room for 27 bytes); returns the offset after it. */
export function putIsoTime(b: Buffer, o: number, now: number): number {
  const s = Math.floor(now / 1000);
  if (s !== second || warmUp > 0) {
    warmUp--;
    enterSecond(s);
  }
  b.set(secondBytes, o);
  o += secondBytes.length;
  const ms = now - s * 1000;
  b[o] = 0x30 + Math.floor(ms / 100);
  b[o + 1] = 0x30 + (Math.floor(ms / 10) % 10);
  b[o + 2] = 0x30 + (ms % 10);
  b[o + 3] = 0x5a; // Z
  return o + 4;
}
