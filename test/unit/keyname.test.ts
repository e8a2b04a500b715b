import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { escapeKey, globEscape, keyCandidates, patternBytes, unescapeKey } from '../../src/redis/keyname.js';

describe('key names: escaped form', () => {
  it.each([
    ['plain ASCII stays as is', Buffer.from('stock_quote_0cc175b9c0f1b6a831c399e269772661'), 'stock_quote_0cc175b9c0f1b6a831c399e269772661'],
    ['valid UTF-8 stays readable', Buffer.from('café:ключ', 'utf8'), 'café:ключ'],
    ['non-UTF-8 bytes as \\xhh (lower case, like redis-cli)', Buffer.from([0x62, 0x69, 0x6e, 0xff, 0xfe, 0x00]), 'bin\\xff\\xfe\\x00'],
    ['newline, CR, tab like redis-cli', Buffer.from('a\nb\rc\td'), 'a\\nb\\rc\\td'],
    ['backslash doubled so the form reads back', Buffer.from('App\\Models\\User'), 'App\\\\Models\\\\User'],
    ['a truncated UTF-8 sequence is escaped', Buffer.from([0x41, 0xc3]), 'A\\xc3'],
    ['a key wrapped in quotes is not mistaken for the quoted form', Buffer.from('"foo"'), '\\"foo"'],
    ['C1 controls and U+2028 are escaped', Buffer.from('a\u0085b\u2028c', 'utf8'), 'a\\xc2\\x85b\\xe2\\x80\\xa8c'],
  ])('%s', (_name, buf, text) => {
    expect(escapeKey(buf)).toBe(text);
    expect(unescapeKey(text).equals(buf)).toBe(true);
  });

  it('every escaped key is one line and reads back to the same bytes (random binary names)', () => {
    for (let i = 0; i < 2000; i++) {
      const buf = randomBytes(1 + (i % 40));
      const text = escapeKey(buf);
      expect(text).not.toMatch(/[\n\r]/);
      expect(unescapeKey(text).equals(buf)).toBe(true);
    }
  });

  it("accepts redis-cli's quoted form and keeps unknown backslash sequences literal", () => {
    expect(unescapeKey('"bin\\xff\\"q\\""').equals(Buffer.from([0x62, 0x69, 0x6e, 0xff, 0x22, 0x71, 0x22]))).toBe(true);
    expect(unescapeKey('App\\Models\\User').toString()).toBe('App\\Models\\User');
    expect(unescapeKey('A\\X41').toString()).toBe('AA');
  });

  it('offers the literal reading as a second candidate when escapes were decoded', () => {
    expect(keyCandidates('plain')).toHaveLength(1);
    const c = keyCandidates('a\\x41');
    expect(c.map((b) => b.toString())).toEqual(['aA', 'a\\x41']);
  });

  it('patterns: \\xhh is a byte, other backslashes stay glob escapes', () => {
    expect(patternBytes('bin\\xff*').equals(Buffer.from([0x62, 0x69, 0x6e, 0xff, 0x2a]))).toBe(true);
    expect(patternBytes('a\\*b').toString()).toBe('a\\*b');
    expect(globEscape('a*b?[c]\\').toString()).toBe('a\\*b\\?\\[c\\]\\\\');
  });
});
