import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RedisServer } from '../helpers/redis-server.js';
import { runCli, tempCwd } from '../helpers/cli.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { connectRole, closeClient } from '../../src/redis/connect.js';
import { sharesDatabase } from '../../src/redis/same-server.js';
import { runDoctor } from '../../src/doctor/index.js';

/**
 * Issue 13, item 2: "the same server" is what the servers say (INFO server run_id, plus the DB
 * index), not how the config spells their addresses: `localhost` and `127.0.0.1` are one server.
 */

describe('item 2: the shared-DB guards ask the servers', () => {
  let server: RedisServer;
  let other: RedisServer;

  beforeAll(async () => {
    // Both loopback addresses, so `localhost` answers whichever one it resolves to.
    server = await RedisServer.start({ args: ['--bind', '127.0.0.1', '-::1'] });
    other = await RedisServer.start();
  });
  afterAll(async () => {
    await server?.stop();
    await other?.stop();
  });

  beforeEach(async () => {
    const c = server.client(0);
    await c.flushall();
    // The queue's keys in DB 0 and a cache key beside them.
    await c.set('bull:default:meta', 'x');
    await c.set('bull:default:1', 'job');
    await c.set('stock_quote_abc', '{}', 'EX', 1200);
    c.disconnect();
  });

  /** The queue role spelled `localhost`, the cache role `127.0.0.1`: one server, one DB. */
  const aliasEnv = () => ({ REDIS_URL: `redis://localhost:${server.port}/0`, REDIS_CACHE_URL: `redis://127.0.0.1:${server.port}/0` });

  it('item 2: cache clear refuses when the cache role is the queue DB under another host name (localhost vs 127.0.0.1)', async () => {
    const r = await runCli(['cache', 'clear', '--yes'], { env: aliasEnv() });
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/refusing to clear every key of DB 0: the queue role uses the same DB/);
    const c = server.client(0);
    expect(await c.dbsize()).toBe(3);
    c.disconnect();
  });

  it("item 2: cache clear --prefix refuses a prefix that reaches the queue's keys on the same DB under another host name", async () => {
    const r = await runCli(['cache', 'clear', '--prefix', 'bul', '--yes'], { env: { ...aliasEnv(), CACHE_PREFIX: '' } });
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/include the queue's keys/);
    const c = server.client(0);
    expect(await c.exists('bull:default:1')).toBe(1);
    c.disconnect();
  });

  it('item 2: a cache on another server (same DB index) is cleared as before', async () => {
    const o = other.client(0);
    await o.set('stock_quote_x', '{}');
    o.disconnect();
    const r = await runCli(['cache', 'clear', '--yes', '--json'], { env: { REDIS_URL: `redis://localhost:${server.port}/0`, REDIS_CACHE_URL: other.url(0) } });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.json.deleted).toBe(1);
    const c = server.client(0);
    expect(await c.dbsize()).toBe(3);
    c.disconnect();
  });

  it('item 2: sharesDatabase: same server under two names is "same"; another DB or another server is "different"', async () => {
    const config = resolveConfig({ env: { ...aliasEnv(), REDIS_SESSION_URL: other.url(0) }, cwd: tempCwd() });
    const cache = await connectRole(config, 'cache');
    try {
      expect(await sharesDatabase(config, 'cache', cache, 'queue')).toBe('same');
      expect(await sharesDatabase(config, 'cache', cache, 'session')).toBe('different');
      const config2 = resolveConfig({
        env: { REDIS_URL: `redis://localhost:${server.port}/0`, REDIS_CACHE_URL: `redis://127.0.0.1:${server.port}/1` },
        cwd: tempCwd(),
      });
      expect(await sharesDatabase(config2, 'cache', cache, 'queue')).toBe('different');
    } finally {
      await closeClient(cache);
    }
  });

  it("item 2: doctor's cache TTL check knows the cache shares the queue's DB under another host name (queue keys are not cache keys)", async () => {
    const c = server.client(0);
    // Queue keys without a TTL: in a shared DB they are not the cache's business.
    for (let i = 0; i < 5; i++) await c.set(`bull:default:${100 + i}`, 'job');
    c.disconnect();
    const config = resolveConfig({ env: aliasEnv(), cwd: tempCwd() });
    const report = await runDoctor(config);
    const ttl = report.checks.find((x) => x.id === 'cache.keys-ttl');
    expect(ttl?.status, JSON.stringify(ttl)).toBe('ok');
  });
});
