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
    ["NOPERM this user has no permissions to run the 'flushdb' command", 'REDIS_NOPERM', /refused FLUSHDB: the ACL user lacks \+flushdb/],
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

  it('names the permission an ACL refusal is about: the command, or the command whose key is outside the user’s patterns', () => {
    const keyRefusal = Object.assign(new Error('NOPERM this user has no permissions to access one of the keys used as arguments'), {
      command: { name: 'hset', args: ['raffle:1', 'status', 'ended'] },
    });
    expect(redisRefusal(keyRefusal, 'Redis at redis://127.0.0.1:1/0 (queue role)')!.message).toMatch(
      /refused HSET raffle:1: it names a key outside the ACL user's key patterns/,
    );
    expect(redisRefusal(new Error("NOPERM User app has no permissions to run the 'client|list' command"))!.message).toMatch(
      /refused CLIENT LIST: the ACL user lacks \+client\|list/,
    );
    // Redis 7.0 words a refusal inside a Lua script without the NOPERM prefix.
    const inScript = redisRefusal(
      Object.assign(new Error("ERR The user executing the script can't run this command or subcommand script: 5ab4, on @user_script:1."), {
        command: { name: 'evalsha', args: ['5ab4', '1', 'bull:q:wait'] },
      }),
    )!;
    expect(inScript.code).toBe('REDIS_NOPERM');
    expect(inScript.exitCode).toBe(3);
    expect(inScript.message).toMatch(/refused EVALSHA 5ab4: the ACL user lacks the permission/);
  });

  it('leaves other errors alone', () => {
    expect(redisRefusal(new Error('ERR unknown command'))).toBeUndefined();
    expect(redisRefusal(new RqctlError('X', 2, 'OOM but ours'))).toBeUndefined();
  });
});
