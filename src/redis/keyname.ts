/**
 * Key names are bytes, not strings. Redis keys written by PHP, by serializers or by mistake can hold
 * any byte; reading them as UTF-8 strings would replace bad bytes with U+FFFD and make the key
 * impossible to address again. So rqctl reads keys as Buffers and prints them in one escaped, one-line
 * form, close to `redis-cli`'s (sdscatrepr, without the surrounding quotes):
 *
 * - printable ASCII and valid UTF-8 text as is (`café` stays `café`);
 * - `\` as `\\` (so the form can be read back without ambiguity);
 * - `\n` `\r` `\t` `\a` `\b` like redis-cli, every other control byte and every byte that is not
 *   part of valid UTF-8 as `\xhh` (lower-case hex, like redis-cli).
 *
 * `parseKeyName` reads that form back (and redis-cli's quoted form `"…"`), so a key printed by
 * `rqctl keys` can be pasted into `keys show`, `cache get` or `cache forget`.
 */

const HEX = '0123456789abcdef';
const NAMED: Record<number, string> = { 0x0a: '\\n', 0x0d: '\\r', 0x09: '\\t', 0x07: '\\a', 0x08: '\\b', 0x5c: '\\\\' };

function hexByte(b: number): string {
  return `\\x${HEX[b >> 4]}${HEX[b & 15]}`;
}

/** Length of the valid UTF-8 sequence starting at `i`, or 0 when the bytes there are not valid UTF-8. */
function utf8SequenceLength(buf: Buffer, i: number): number {
  const b0 = buf[i];
  let len: number;
  let min: number;
  let cp: number;
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    len = 2;
    min = 0x80;
    cp = b0 & 0x1f;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    len = 3;
    min = 0x800;
    cp = b0 & 0x0f;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    len = 4;
    min = 0x10000;
    cp = b0 & 0x07;
  } else return 0;
  if (i + len > buf.length) return 0;
  for (let k = 1; k < len; k++) {
    const b = buf[i + k];
    if ((b & 0xc0) !== 0x80) return 0;
    cp = (cp << 6) | (b & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  // C1 controls and the Unicode line/paragraph separators would break "one key per line" in some tools.
  if (cp <= 0x9f || cp === 0x2028 || cp === 0x2029) return 0;
  return len;
}

/** True when the key prints as itself (printable ASCII, no backslash): the common, fast case. */
export function isPlainKey(buf: Buffer): boolean {
  for (let i = 0; i < buf.length; i++) {
    const b = buf[i];
    if (b < 0x20 || b > 0x7e || b === 0x5c) return false;
  }
  return true;
}

/** One key name as one printable line (see the module comment). */
export function escapeKey(buf: Buffer): string {
  // A key wrapped in double quotes would read back as redis-cli's quoted form: escape its first quote.
  const quoted = buf.length >= 2 && buf[0] === 0x22 && buf[buf.length - 1] === 0x22;
  if (!quoted && isPlainKey(buf)) return buf.toString('latin1');
  let out = quoted ? '\\"' : '';
  let i = quoted ? 1 : 0;
  while (i < buf.length) {
    const b = buf[i];
    if (b < 0x80) {
      if (b >= 0x20 && b <= 0x7e && b !== 0x5c) out += String.fromCharCode(b);
      else out += NAMED[b] ?? hexByte(b);
      i++;
      continue;
    }
    const len = utf8SequenceLength(buf, i);
    if (len) {
      out += buf.toString('utf8', i, i + len);
      i += len;
    } else {
      out += hexByte(b);
      i++;
    }
  }
  return out;
}

const UNESCAPE: Record<string, number> = { n: 0x0a, r: 0x0d, t: 0x09, a: 0x07, b: 0x08, '\\': 0x5c, '"': 0x22 };

/**
 * Reads the escaped form back into bytes. A backslash that starts no known escape stays a backslash,
 * so `App\Models\User` means itself. Redis-cli's quoted form (`"bin\xff"`) is accepted too.
 */
export function unescapeKey(text: string): Buffer {
  let s = text;
  if (s.length >= 2 && s.startsWith('"') && s.endsWith('"')) s = s.slice(1, -1);
  const bytes: number[] = [];
  let literal = '';
  const flush = () => {
    if (literal) {
      for (const b of Buffer.from(literal, 'utf8')) bytes.push(b);
      literal = '';
    }
  };
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === '\\' && i + 1 < s.length) {
      const next = s[i + 1];
      if ((next === 'x' || next === 'X') && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 2, i + 4))) {
        flush();
        bytes.push(parseInt(s.slice(i + 2, i + 4), 16));
        i += 3;
        continue;
      }
      if (next in UNESCAPE) {
        flush();
        bytes.push(UNESCAPE[next]);
        i += 1;
        continue;
      }
    }
    literal += ch;
  }
  flush();
  return Buffer.from(bytes);
}

/**
 * The keys an argument may mean, most likely first: its unescaped bytes, then (when different) the
 * argument taken literally — a real key may contain `\x41` as four characters. Callers use the first
 * candidate that exists.
 */
export function keyCandidates(text: string): Buffer[] {
  const decoded = unescapeKey(text);
  const literal = Buffer.from(text, 'utf8');
  return decoded.equals(literal) ? [decoded] : [decoded, literal];
}

/**
 * A glob pattern argument for SCAN MATCH: `\xhh` becomes that byte; every other backslash is kept,
 * because in a Redis glob `\*` means a literal `*`.
 */
export function patternBytes(text: string): Buffer {
  const parts: Buffer[] = [];
  let last = 0;
  const re = /\\x([0-9a-fA-F]{2})/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    parts.push(Buffer.from(text.slice(last, m.index), 'utf8'), Buffer.from([parseInt(m[1], 16)]));
    last = m.index + m[0].length;
  }
  parts.push(Buffer.from(text.slice(last), 'utf8'));
  return Buffer.concat(parts);
}

/** Escapes the glob characters of a literal prefix, so `a*b` matches only keys that start with `a*b`. */
export function globEscape(literal: Buffer | string): Buffer {
  const buf = typeof literal === 'string' ? Buffer.from(literal, 'utf8') : literal;
  const out: number[] = [];
  for (const b of buf) {
    // * ? [ ] \ are special in Redis' stringmatchlen.
    if (b === 0x2a || b === 0x3f || b === 0x5b || b === 0x5d || b === 0x5c) out.push(0x5c);
    out.push(b);
  }
  return Buffer.from(out);
}
