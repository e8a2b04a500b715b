import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer } from '../helpers/redis-server.js';
import { runCli } from '../helpers/cli.js';

/**
 * Issue 13, item 13: a refusal inside MULTI (EXECABORT wrapping NOPERM or READONLY) is the inner
 * refusal (exit 3), not an internal error; and ioredis' "Skipping the ready check…" line never
 * reaches stderr (it broke --json's one-JSON-error contract).
 */

describe('item 13: refusals inside MULTI, and a user without INFO', () => {
  let master: RedisServer;
  let replica: RedisServer;

  beforeAll(async () => {
    master = await RedisServer.start();
    replica = await RedisServer.start();
    const m = master.client();
    await m.call('ACL', 'SETUSER', 'nounlink', 'on', '>pw-1', '~*', '&*', '+@all', '-unlink');
    await m.call('ACL', 'SETUSER', 'noinfo', 'on', '>pw-2', '~*', '&*', '+@all', '-info');
    await m.select(1);
    for (let i = 0; i < 20; i++) await m.set(`stock_quote_k${i}`, '{"c":1}', 'EX', 1200);
    m.disconnect();
    const r = replica.client();
    await r.call('REPLICAOF', '127.0.0.1', String(master.port));
    // Wait until the replica holds the keys (the replicated data set).
    for (let i = 0; i < 100; i++) {
      await r.select(1);
      if ((await r.dbsize()) === 20) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    r.disconnect();
  });

  afterAll(async () => {
    await replica?.stop();
    await master?.stop();
  });

  it('item 13: NOPERM inside MULTI (cache clear by a user without UNLINK) is exit 3 REDIS_NOPERM, not an internal error', async () => {
    const r = await runCli(['cache', 'clear', '--prefix', 'stock_quote_', '--yes', '--json'], {
      env: { REDIS_URL: `redis://nounlink:pw-1@127.0.0.1:${master.port}/0` },
    });
    expect(r.exitCode, r.stderr).toBe(3);
    const error = JSON.parse(r.stderr.trim().split('\n').pop()!).error;
    expect(error.code).toBe('REDIS_NOPERM');
    // The refusal names the permission (docs/acl.md, "Refusals").
    expect(error.message).toMatch(/refused UNLINK: the ACL user lacks \+unlink \(NOPERM .*unlink/);
    expect(r.stderr).not.toMatch(/EXECABORT|internal error/);
    const c = master.client(1);
    expect(await c.dbsize()).toBe(20);
    c.disconnect();
  });

  it('item 13: READONLY inside MULTI (cache clear on a replica) is exit 3 REDIS_READONLY', async () => {
    const r = await runCli(['cache', 'clear', '--prefix', 'stock_quote_', '--yes'], { env: { REDIS_URL: replica.url() } });
    expect(r.exitCode, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/^error: .*is a read-only replica and refused the write \(READONLY/m);
    expect(r.stderr).not.toMatch(/EXECABORT|internal error/);
  });

  it("item 13: a user without INFO: no ioredis ready-check line on stderr, and --json's stdout is the result", async () => {
    const r = await runCli(['cache', 'get', 'stock_quote_k1', '--json'], { env: { REDIS_URL: `redis://noinfo:pw-2@127.0.0.1:${master.port}/0` } });
    expect(r.stderr).not.toMatch(/Skipping the ready check/);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ key: 'stock_quote_k1', value: '{"c":1}' });
    expect(r.stderr).toBe('');
  });
});
