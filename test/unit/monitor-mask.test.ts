import { describe, expect, it } from 'vitest';
import { maskArgs, monitorLine, tokenizeMonitorArgs } from '../../src/redis/monitor.js';

describe('monitor: lines and masking', () => {
  it.each([
    [
      ['AUTH', 's3cret'],
      ['AUTH', '****'],
    ],
    [
      ['auth', 'alice', 's3cret'],
      ['auth', 'alice', '****'],
    ],
    [
      ['HELLO', '3', 'AUTH', 'alice', 's3cret', 'SETNAME', 'x'],
      ['HELLO', '3', 'AUTH', 'alice', '****', 'SETNAME', 'x'],
    ],
    [
      ['CONFIG', 'SET', 'requirepass', 's3cret'],
      ['CONFIG', 'SET', 'requirepass', '****'],
    ],
    [
      ['CONFIG', 'SET', 'maxmemory', '1gb'],
      ['CONFIG', 'SET', 'maxmemory', '1gb'],
    ],
    [
      ['ACL', 'SETUSER', 'bob', 'on', '>s3cret', '~*', '+@all'],
      ['ACL', 'SETUSER', 'bob', 'on', '>****', '~*', '+@all'],
    ],
    [
      ['MIGRATE', 'h', '6379', 'k', '0', '5000', 'AUTH2', 'u', 's3cret'],
      ['MIGRATE', 'h', '6379', 'k', '0', '5000', 'AUTH2', 'u', '****'],
    ],
    [
      ['SET', 'auth', 'value'],
      ['SET', 'auth', 'value'],
    ],
  ])('%j', (args, masked) => {
    expect(maskArgs(args)).toEqual(masked);
  });

  it('rebuilds the exact redis-cli line from what ioredis hands over, and masks it', () => {
    // ioredis splits `"a" "b\" \"c"` on `" "` and unescapes \" — the join must undo that.
    const raw = '"set" "k" "\\" \\""'
      .slice(1, -1)
      .split('" "')
      .map((x) => x.replace(/\\"/g, '"'));
    const l = monitorLine('1700000000.000001', raw, '127.0.0.1:5000', '1', 'cache');
    expect(l.line).toBe('1700000000.000001 [1 127.0.0.1:5000] "set" "k" "\\" \\""');
    expect(l.args).toEqual(['set', 'k', '\\" \\"']);
    expect(l.db).toBe(1);
    const auth = monitorLine('1.0', ['AUTH', 'hunter2'], 'lua', '0', 'queue');
    expect(auth.line).not.toContain('hunter2');
  });

  it('tokenizes quoted, escaped arguments', () => {
    expect(tokenizeMonitorArgs('"a" "b\\"c" "\\xff"')).toEqual(['a', 'b\\"c', '\\xff']);
  });
});
