import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { readCacheValue, getCacheValue } from '../../src/cache/values.js';
import { connectRole, closeClient, type RedisClient } from '../../src/redis/connect.js';
import { isRqctlError } from '../../src/errors.js';
import { jobEnv, type JobEnv } from '../helpers/job-env.js';

const redisUrl = inject('plainRedisUrl');

describe('reading cached values (the hit path)', () => {
  let env: JobEnv;
  let client: RedisClient;
  beforeEach(async () => {
    env = await jobEnv(redisUrl, { label: 'read' });
    client = await connectRole(env.config, 'cache');
  });
  afterEach(async () => {
    await closeClient(client);
    await env?.cleanup();
  });

  it('returns the bytes as stored, by full name, by name without CACHE_PREFIX, and by escaped binary name', async () => {
    const body = Buffer.from('{"c":189.84,"name":"Café ☕"}\n', 'utf8');
    const full = `${env.id}:stock_quote_abc`;
    await env.cacheDb.set(full, body, 'EX', 600);
    const binary = Buffer.concat([Buffer.from(`${env.id}:bin_`), Buffer.from([0xff, 0x00])]);
    await env.cacheDb.set(binary, body);
    for (const text of [full, 'stock_quote_abc', `${env.id}:bin_\\xff\\x00`]) {
      const r = await readCacheValue(client, env.config, text);
      expect(r.value.equals(body), text).toBe(true);
    }
    const withTtl = await getCacheValue(client, env.config, 'stock_quote_abc');
    expect(withTtl.key.toString()).toBe(full);
    expect(withTtl.pttl).toBeGreaterThan(590_000);
  });

  it('a missing key is exit 4, a non-string key exit 2', async () => {
    const missing = await readCacheValue(client, env.config, 'nope').catch((e: unknown) => e);
    expect(isRqctlError(missing) && missing.exitCode).toBe(4);
    await env.cacheDb.hset(`${env.id}:h`, 'a', '1');
    const wrong = await readCacheValue(client, env.config, `${env.id}:h`).catch((e: unknown) => e);
    expect(isRqctlError(wrong) && wrong.exitCode).toBe(2);
    expect(String((wrong as Error).message)).toMatch(/is a hash, not a string value/);
  });
});
