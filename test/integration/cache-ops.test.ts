import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli, spawnCli } from '../helpers/cli.js';
import { RedisServer } from '../helpers/redis-server.js';

/**
 * cache get / forget / clear / stats against a server of its own with FLUSHDB and FLUSHALL renamed
 * away (as in production). DB 0 = queue, 1 = cache, 2 = sessions, like the old stack.
 */
const PASSWORD = 'inspect-cache-pw';
let server: RedisServer;
let env: Record<string, string>;
let queue: Redis;
let cache: Redis;
let session: Redis;

const CRYPTO = ['crypto_list', 'crypto_detail', 'crypto_prices', 'crypto_trending', 'crypto_chart'];
const STOCK = ['stock_list', 'stock_quote', 'stock_profile', 'market_news', 'stock_chart'];
const hash = (i: number) => i.toString(16).padStart(32, '0');

/** Runs the CLI and keeps stdout as bytes (runCli decodes chunks as text, which can split a character). */
function runCliBytes(args: string[], e: Record<string, string>): Promise<{ stdout: Buffer; stderr: string; exitCode: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawnCli(args, { env: e });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (exitCode) => resolve({ stdout: Buffer.concat(out), stderr, exitCode }));
    child.stdin!.end();
  });
}

/** `n` keys per family under `prefix`, TTL 1200 s, plus a few unrelated keys. */
async function seedCache(prefix = '', n = 20): Promise<void> {
  const p = cache.pipeline();
  for (const f of [...CRYPTO, ...STOCK]) for (let i = 0; i < n; i++) p.set(`${prefix}${f}_${hash(i)}`, `{"f":"${f}"}`, 'EX', 1200);
  p.set('laravel_cache:other', 'x');
  await p.exec();
}

async function countMatching(client: Redis, pattern: string): Promise<number> {
  let cursor = '0';
  let n = 0;
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    n += keys.length;
  } while (cursor !== '0');
  return n;
}

/** Deletes everything this file wrote in one DB (the server has no FLUSHDB). */
async function emptyDb(client: Redis): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scanBuffer(cursor, 'COUNT', 1000);
    cursor = next.toString();
    if (keys.length) await client.unlink(...keys);
  } while (cursor !== '0');
}

beforeAll(async () => {
  server = await RedisServer.start({
    password: PASSWORD,
    args: ['--maxmemory-policy', 'noeviction', '--rename-command', 'FLUSHDB', '', '--rename-command', 'FLUSHALL', '', '--latency-monitor-threshold', '5'],
  });
  env = { REDIS_URL: `redis://127.0.0.1:${server.port}/0`, REDIS_PASSWORD: PASSWORD };
  queue = server.client(0);
  cache = server.client(1);
  session = server.client(2);
});

afterAll(async () => {
  for (const c of [queue, cache, session]) c?.disconnect();
  await server?.stop();
});

beforeEach(async () => {
  await Promise.all([emptyDb(queue), emptyDb(cache), emptyDb(session)]);
  // What must survive every cache clear: the queue's and sessions' keys.
  await queue.set('bull:default:1', 'job');
  await queue.set('stock_quote_in_queue_db', 'not cache');
  await session.set('laravel_session:abc', 'session');
});

async function othersUntouched(): Promise<void> {
  expect(await queue.get('bull:default:1')).toBe('job');
  expect(await queue.get('stock_quote_in_queue_db')).toBe('not cache');
  expect(await session.get('laravel_session:abc')).toBe('session');
}

describe('rqctl cache clear', () => {
  it('FLUSHDB really is disabled on this server', async () => {
    await expect(cache.call('FLUSHDB')).rejects.toThrow(/unknown command/i);
  });

  it('--prefix stock_quote_ --yes --json deletes exactly the stock quotes', async () => {
    await seedCache();
    const r = await runCli(['cache', 'clear', '--prefix', 'stock_quote_', '--yes', '--json'], { env });
    expect(r.exitCode).toBe(0);
    expect(r.json).toMatchObject({ deleted: 20, matched: 20, dryRun: false });
    expect(await countMatching(cache, 'stock_quote_*')).toBe(0);
    for (const f of [...CRYPTO, ...STOCK].filter((x) => x !== 'stock_quote')) expect(await countMatching(cache, `${f}_*`)).toBe(20);
    expect(await cache.get('laravel_cache:other')).toBe('x');
    await othersUntouched();
  });

  it('--prefix is applied after CACHE_PREFIX: unprefixed look-alikes stay', async () => {
    await seedCache('app:');
    await seedCache('', 3);
    const r = await runCli(['cache', 'clear', '--prefix', 'stock_quote_', '--yes', '--json'], { env: { ...env, CACHE_PREFIX: 'app:' } });
    expect(r.json.deleted).toBe(20);
    expect(await countMatching(cache, 'app:stock_quote_*')).toBe(0);
    expect(await countMatching(cache, 'stock_quote_*')).toBe(3);
    expect(await countMatching(cache, 'app:stock_list_*')).toBe(20);
  });

  it('--tag crypto deletes the five crypto families only; tags come from config', async () => {
    await seedCache();
    const r = await runCli(['cache', 'clear', '--tag', 'crypto', '--yes', '--json'], { env });
    expect(r.json.deleted).toBe(100);
    expect(Object.keys(r.json.families).sort()).toEqual([...CRYPTO].sort());
    for (const f of CRYPTO) expect(await countMatching(cache, `${f}_*`)).toBe(0);
    for (const f of STOCK) expect(await countMatching(cache, `${f}_*`)).toBe(20);
    await othersUntouched();

    const dir = mkdtempSync(join(tmpdir(), 'rqctl-tags-'));
    writeFileSync(join(dir, 'rqctl.config.yaml'), 'cache:\n  tags:\n    quotes: [stock_quote, stock_profile]\n');
    const custom = await runCli(['cache', 'clear', '--tag', 'quotes', '--yes', '--json'], { env, cwd: dir });
    expect(custom.json.deleted).toBe(40);
    expect(await countMatching(cache, 'stock_list_*')).toBe(20);
  });

  it('an unknown tag exits 2 and deletes nothing', async () => {
    await seedCache();
    const r = await runCli(['cache', 'clear', '--tag', 'nope', '--yes'], { env });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/unknown cache tag "nope"/);
    expect(await cache.dbsize()).toBe(201);
  });

  it('without --yes off a terminal: exit 2, nothing deleted; --dry-run counts and deletes nothing', async () => {
    await seedCache();
    const r = await runCli(['cache', 'clear', '--prefix', 'stock_'], { env });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--yes/);
    expect(await cache.dbsize()).toBe(201);
    const dry = await runCli(['cache', 'clear', '--tag', 'stock', '--dry-run', '--json'], { env });
    expect(dry.exitCode).toBe(0);
    expect(dry.json).toMatchObject({ dryRun: true, deleted: 0, matched: 100 });
    expect(dry.json.families).toMatchObject({ stock_quote: 20, market_news: 20 });
    expect(await cache.dbsize()).toBe(201);
  });

  it('no prefix, no tag: the whole cache DB, and nothing else', async () => {
    await seedCache();
    const r = await runCli(['cache', 'clear', '--yes', '--json'], { env });
    expect(r.json.deleted).toBe(201);
    expect(await cache.dbsize()).toBe(0);
    await othersUntouched();
  });

  it('refuses a whole clear when the cache shares the queue DB (exit 2, nothing deleted)', async () => {
    const r = await runCli(['cache', 'clear', '--yes'], { env: { ...env, REDIS_CACHE_DB: '0' } });
    expect(r.exitCode).toBe(2);
    await othersUntouched();
  });

  it('a large clear never stalls Redis: SCAN + UNLINK in small batches (latency figure in the log)', async () => {
    const N = 300_000;
    for (let start = 0; start < N; start += 20_000) {
      const p = cache.pipeline();
      for (let i = start; i < start + 20_000; i++) p.set(`stock_chart_${hash(i)}`, 'x'.repeat(64));
      await p.exec();
    }
    await cache.set('crypto_list_keep', 'kept');
    await cache.call('LATENCY', 'RESET');
    // A probe: PING every ~2 ms on its own connection while the clear runs.
    const probe = server.client(0);
    await probe.ping();
    let stop = false;
    let maxMs = 0;
    let pings = 0;
    const probing = (async () => {
      while (!stop) {
        const t0 = performance.now();
        await probe.ping();
        maxMs = Math.max(maxMs, performance.now() - t0);
        pings++;
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    const r = await runCli(['cache', 'clear', '--prefix', 'stock_chart_', '--yes', '--json'], { env, timeoutMs: 120_000 });
    stop = true;
    await probing;
    const latest = (await cache.call('LATENCY', 'LATEST')) as [string, number, number, number][];
    probe.disconnect();
    expect(r.exitCode).toBe(0);
    expect(r.json.deleted).toBe(N);
    expect(await cache.get('crypto_list_keep')).toBe('kept');
    await othersUntouched();
    // A figure for the notes, not a timed assertion: these machines are noisy.
    const worstServerMs = Math.max(0, ...latest.map((e) => Number(e[2])));
    process.stderr.write(
      `[latency] cache clear of ${N} keys: ${r.json.elapsedMs} ms, ${pings} probe PINGs, slowest PING round trip ${maxMs.toFixed(2)} ms, slowest UNLINK ${r.json.slowestUnlinkMs} ms, LATENCY LATEST worst event ${worstServerMs} ms (threshold 5 ms; 0 = none)\n`,
    );
    expect(pings).toBeGreaterThan(0);
  }, 180_000);
});

describe('rqctl cache get / forget / stats', () => {
  it('get prints the value byte for byte, the TTL on stderr', async () => {
    const value = Buffer.concat([Buffer.from('{"price":1.5}'), Buffer.from([0xff, 0x00, 0x0a])]);
    await cache.set('stock_quote_aaa', value, 'EX', 600);
    const r = await runCliBytes(['cache', 'get', 'stock_quote_aaa'], env);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.equals(value)).toBe(true);
    expect(r.stderr).toMatch(/ttl: (599|600) s/);
    const json = await runCli(['cache', 'get', 'stock_quote_aaa', '--json'], { env });
    expect(json.json).toMatchObject({ key: 'stock_quote_aaa', bytes: value.length, encoding: 'base64' });
    expect(Buffer.from(json.json.value, 'base64').equals(value)).toBe(true);
  });

  it('get reads a 200 KB JSON value exactly as stored', async () => {
    const big = JSON.stringify({ data: 'é'.repeat(100_000) });
    await cache.set('crypto_chart_big', big, 'EX', 1200);
    const r = await runCliBytes(['cache', 'get', 'crypto_chart_big'], env);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.equals(Buffer.from(big))).toBe(true);
  });

  it('get tries CACHE_PREFIX in front of a bare name, like Cache::get', async () => {
    await cache.set('app:crypto_list_x', 'v');
    const r = await runCli(['cache', 'get', 'crypto_list_x'], { env: { ...env, CACHE_PREFIX: 'app:' } });
    expect(r.stdout).toBe('v');
    expect(r.stderr).toMatch(/ttl: none/);
  });

  it('a missing key exits 4 with nothing on stdout; a non-string key exits 2', async () => {
    const r = await runCli(['cache', 'get', 'stock_quote_missing'], { env });
    expect(r.exitCode).toBe(4);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/not found/);
    await cache.hset('a_hash', 'f', 'v');
    const t = await runCli(['cache', 'get', 'a_hash'], { env });
    expect(t.exitCode).toBe(2);
    expect(t.stderr).toMatch(/is a hash/);
  });

  it('forget accepts the escaped form of binary names and reports {"forgotten":N}', async () => {
    await cache.set(Buffer.from([0x73, 0x71, 0xff, 0xfe]), 'b');
    await cache.set('stock_quote_1', 'a');
    const r = await runCli(['cache', 'forget', 'sq\\xff\\xfe', 'stock_quote_1', 'stock_quote_nope', '--json'], { env });
    expect(r.exitCode).toBe(0);
    expect(r.json).toMatchObject({ forgotten: 2, missing: ['stock_quote_nope'] });
    expect(await cache.exists(Buffer.from([0x73, 0x71, 0xff, 0xfe]))).toBe(0);
    expect(await cache.exists('stock_quote_1')).toBe(0);
    await othersUntouched();
  });

  it('stats counts keys per family, TTL spread against the configured duration, keys without TTL, hit ratio', async () => {
    await seedCache('', 4);
    await cache.set('stock_quote_stale', 'x', 'EX', 100); // 100 of 1200 s left: the 0-25% bucket
    await cache.set('crypto_list_forever', 'x'); // no TTL
    await cache.set('crypto_prices_long', 'x', 'EX', 5000); // longer than CRYPTO_CACHE_DURATION
    const r = await runCli(['cache', 'stats', '--json'], { env });
    expect(r.exitCode).toBe(0);
    const fam = Object.fromEntries(r.json.families.map((f: any) => [f.family, f]));
    expect(fam.stock_quote).toMatchObject({ keys: 5, noTtl: 0, duration: 1200 });
    expect(fam.stock_quote.buckets['0-25%']).toBe(1);
    expect(fam.stock_quote.buckets['75-100%']).toBe(4);
    expect(fam.crypto_list).toMatchObject({ keys: 5, noTtl: 1 });
    expect(fam.crypto_prices.buckets.over).toBe(1);
    expect(fam.other).toMatchObject({ keys: 1, noTtl: 1 });
    expect(r.json.totalKeys).toBe(44);
    expect(r.json.keysWithoutTtl).toBe(2);
    expect(r.json).toHaveProperty('hitRatio');
    expect(typeof r.json.evictedKeys).toBe('number');
    const human = await runCli(['cache', 'stats'], { env: { ...env, STOCK_CACHE_DURATION: '600' } });
    expect(human.stdout).toMatch(/stock_quote\s+5\s+0\s+600s/);
  });
});
