import { describe, expect, it } from 'vitest';
import { RqctlError, redisRefusal } from '../../src/errors.js';

describe('redisRefusal', () => {
  it.each([
    [
      "OOM command not allowed when used memory > 'maxmemory'. script: 5ab4, on @user_script:589.",
      'REDIS_OOM',
      /is out of memory .* \(OOM command not allowed when used memory > 'maxmemory'\); nothing was enqueued$/,
    ],
    ["READONLY You can't write against a read only replica.", 'REDIS_READONLY', /read-only replica/],
    ["NOPERM this user has no permissions to run the 'flushdb' command", 'REDIS_NOPERM', /ACL user lacks the permission/],
    ['MISCONF Redis is configured to save RDB snapshots, but it is currently not able to persist on disk.', 'REDIS_MISCONF', /cannot persist/],
  ])('%s → exit 3, %s', (message, code, text) => {
    const e = redisRefusal(new Error(message), 'Redis at redis://127.0.0.1:1/0 (queue role)', 'nothing was enqueued');
    expect(e).toBeInstanceOf(RqctlError);
    expect(e!.code).toBe(code);
    expect(e!.exitCode).toBe(3);
    expect(e!.message).toMatch(/^Redis at redis:\/\/127\.0\.0\.1:1\/0 \(queue role\) /);
    expect(e!.message).toMatch(text);
    expect(e!.hint).toBeTruthy();
  });

  it('leaves other errors alone', () => {
    expect(redisRefusal(new Error('ERR unknown command'))).toBeUndefined();
    expect(redisRefusal(new RqctlError('X', 2, 'OOM but ours'))).toBeUndefined();
  });
});
