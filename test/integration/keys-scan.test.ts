import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, cleanEnv, runCli, tempCwd } from '../helpers/cli.js';
import { RedisServer } from '../helpers/redis-server.js';
import { escapeKey, unescapeKey } from '../../src/redis/keyname.js';

/**
 * `rqctl keys` against a production-like server of its own (password, FLUSHDB/FLUSHALL renamed away):
 * 100,000+ keys including binary names, compared with what redis-cli sees.
 */
const PASSWORD = 'inspect-keys-pw';
const BIG_DB = 3;
const CACHE_DB = 1;
let server: RedisServer;
let env: Record<string, string>;
/** Every key of BIG_DB, as hex, for exact comparisons. */
const bigDbKeys = new Set<string>();
const binaryNames = [
  Buffer.from([0x62, 0x69, 0x6e, 0x3a, 0xff, 0xfe, 0x00, 0x01]),
  Buffer.from('bin:caf\xe9', 'latin1'),
  Buffer.from('bin:back\\slash "q"'),
  Buffer.from('bin:ключ', 'utf8'),
];

function redisCli(args: string[]): string {
  const r = spawnSync('redis-cli', ['-p', String(server.port), '-a', PASSWORD, '--no-auth-warning', ...args], { maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`redis-cli failed: ${r.stderr}`);
  return r.stdout.toString('latin1');
}
const lines = (s: string) => s.split('\n').filter((l) => l !== '');

beforeAll(async () => {
  server = await RedisServer.start({
    password: PASSWORD,
    args: ['--maxmemory-policy', 'noeviction', '--rename-command', 'FLUSHDB', '', '--rename-command', 'FLUSHALL', ''],
  });
  env = { REDIS_URL: `redis://127.0.0.1:${server.port}/0`, REDIS_PASSWORD: PASSWORD };
  const c = server.client(BIG_DB);
  for (let start = 0; start < 100_000; start += 10_000) {
    const p = c.pipeline();
    for (let i = start; i < start + 10_000; i++) {
      const k = `k:${i}`;
      p.set(k, 'v');
      bigDbKeys.add(Buffer.from(k).toString('hex'));
    }
    await p.exec();
  }
  for (const b of binaryNames) {
    await c.set(b, 'binary');
    bigDbKeys.add(b.toString('hex'));
  }
  for (let i = 0; i < 20; i++) {
    await c.hset(`h:${i}`, 'f', 'v');
    bigDbKeys.add(Buffer.from(`h:${i}`).toString('hex'));
  }
  await c.rpush('big:list', ...Array.from({ length: 5000 }, (_, i) => `element-${i}-${'x'.repeat(40)}`));
  bigDbKeys.add(Buffer.from('big:list').toString('hex'));
  c.disconnect();

  const cache = server.client(CACHE_DB);
  const p = cache.pipeline();
  for (let i = 0; i < 24_999; i++) p.set(`stock_quote_${i}`, '{}', 'EX', 1200);
  p.set(Buffer.from([0x63, 0x61, 0x63, 0x68, 0x65, 0xff]), 'x');
  await p.exec();
  cache.disconnect();
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

describe('rqctl keys: SCAN parity with redis-cli', () => {
  it('lists exactly as many keys as `redis-cli --scan` on 100,000+ keys, each one readable back', async () => {
    const r = await runCli(['keys', '--db', String(BIG_DB)], { env, timeoutMs: 120_000 });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe('');
    const ours = lines(r.stdout);
    const theirs = lines(redisCli(['-n', String(BIG_DB), '--scan']));
    expect(ours.length).toBe(bigDbKeys.size);
    expect(theirs.length).toBe(ours.length);
    // Every line names a real key (escapes decode to the stored bytes), each exactly once.
    const seen = new Set(ours.map((l) => unescapeKey(l).toString('hex')));
    expect(seen.size).toBe(bigDbKeys.size);
    for (const k of seen) expect(bigDbKeys.has(k)).toBe(true);
    // Binary names are shown escaped, never with replacement characters.
    expect(ours).toContain('bin:\\xff\\xfe\\x00\\x01');
    expect(ours).toContain('bin:caf\\xe9');
    expect(ours).toContain('bin:back\\\\slash "q"');
    expect(ours).toContain('bin:ключ');
    expect(r.stdout).not.toContain('\uFFFD');
  }, 120_000);

  it('`keys --role cache | wc -l` equals `redis-cli -n 1 --scan | wc -l` on 25,000 keys, the binary name escaped', async () => {
    const r = await runCli(['keys', '--role', 'cache'], { env, timeoutMs: 60_000 });
    expect(r.exitCode).toBe(0);
    const ours = lines(r.stdout);
    expect(ours.length).toBe(25_000);
    expect(lines(redisCli(['-n', String(CACHE_DB), '--scan'])).length).toBe(25_000);
    expect(ours).toContain('cache\\xff');
  }, 60_000);

  it('filters by pattern, type and limit', async () => {
    const bin = await runCli(['keys', 'bin:*', '--db', String(BIG_DB)], { env });
    expect(lines(bin.stdout).sort()).toEqual(binaryNames.map(escapeKey).sort());
    const hashes = await runCli(['keys', '--db', String(BIG_DB), '--type', 'hash'], { env });
    expect(lines(hashes.stdout).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `h:${i}`).sort());
    const limited = await runCli(['keys', '--db', String(BIG_DB), '--limit', '7'], { env });
    expect(lines(limited.stdout)).toHaveLength(7);
    const byte = await runCli(['keys', 'bin:\\xff*', '--db', String(BIG_DB)], { env });
    expect(lines(byte.stdout)).toEqual(['bin:\\xff\\xfe\\x00\\x01']);
  });

  it('--long adds type, TTL and memory; --json is one object per line', async () => {
    const long = await runCli(['keys', 'stock_quote_1', '--role', 'cache', '--long'], { env });
    const [type, ttl, bytes, key] = long.stdout.trim().split(/\s+/);
    expect(type).toBe('string');
    expect(Number(ttl)).toBeGreaterThan(1100);
    expect(Number(bytes)).toBeGreaterThan(0);
    expect(key).toBe('stock_quote_1');
    const json = await runCli(['keys', 'bin:*', '--db', String(BIG_DB), '--json'], { env });
    const objs = lines(json.stdout).map((l) => JSON.parse(l));
    expect(objs).toHaveLength(binaryNames.length);
    for (const o of objs) {
      expect(Object.keys(o)).toEqual(expect.arrayContaining(['key', 'type', 'ttl', 'bytes']));
      expect(o.type).toBe('string');
      expect(o.ttl).toBe(-1);
      expect(o.bytes).toBeGreaterThan(0);
    }
    const raw = objs.find((o) => o.key === 'bin:\\xff\\xfe\\x00\\x01');
    expect(Buffer.from(raw.keyBase64, 'base64').equals(binaryNames[0])).toBe(true);
  });

  it('piped into head: stops scanning and exits 0 quietly', () => {
    const r = spawnSync('bash', ['-c', `set -o pipefail; node ${JSON.stringify(BIN)} keys --db ${BIG_DB} | head -3`], {
      env: cleanEnv(env),
      cwd: tempCwd(),
      timeout: 60_000,
    });
    expect(r.status).toBe(0);
    expect(lines(r.stdout.toString())).toHaveLength(3);
    expect(r.stderr.toString()).toBe('');
  });

  it('refuses a bad role, DB or type with exit 2', async () => {
    expect((await runCli(['keys', '--role', 'nope'], { env })).exitCode).toBe(2);
    expect((await runCli(['keys', '--db', '16'], { env })).exitCode).toBe(2);
    expect((await runCli(['keys', '--type', 'str ing'], { env })).exitCode).toBe(2);
  });
});

describe('rqctl keys show / keys big', () => {
  it('shows every type with a bounded preview; binary names in escaped form', async () => {
    const c = server.client(5);
    await c.set(Buffer.from([0x73, 0xff]), Buffer.concat([Buffer.from('x'.repeat(1000)), Buffer.from([0])]), 'EX', 500);
    await c.hset('show:hash', Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`f${i}`, `v${i}`])));
    await c.rpush('show:list', 'a', 'b', 'c');
    await c.sadd('show:set', 'm1', 'm2');
    await c.zadd('show:zset', 1, 'one', 2, 'two');
    await c.xadd('show:stream', '*', 'field', 'value');
    c.disconnect();
    const s = await runCli(['keys', 'show', 's\\xff', '--db', '5', '--json'], { env });
    expect(s.exitCode).toBe(0);
    expect(s.json).toMatchObject({ key: 's\\xff', type: 'string', size: 1001, truncated: true });
    expect(s.json.ttl).toBeGreaterThan(400);
    expect(s.json.preview[0].length).toBeLessThan(400);
    const h = await runCli(['keys', 'show', 'show:hash', '--db', '5', '--json'], { env });
    expect(h.json).toMatchObject({ type: 'hash', size: 50, ttl: -1, truncated: true, encoding: 'listpack' });
    expect(h.json.preview.length).toBeLessThanOrEqual(10);
    expect(h.json.bytes).toBeGreaterThan(0);
    for (const [key, type, size] of [
      ['show:list', 'list', 3],
      ['show:set', 'set', 2],
      ['show:zset', 'zset', 2],
      ['show:stream', 'stream', 1],
    ] as const) {
      const r = await runCli(['keys', 'show', key, '--db', '5', '--json'], { env });
      expect(r.json).toMatchObject({ type, size, truncated: false });
      expect(r.json.preview).toHaveLength(size);
    }
    const human = await runCli(['keys', 'show', 'show:zset', '--db', '5'], { env });
    expect(human.stdout).toMatch(/type\s+zset/);
    expect(human.stdout).toMatch(/2\s+two/);
  });

  it('a missing key exits 4 with a clear message', async () => {
    const r = await runCli(['keys', 'show', 'no:such:key', '--db', '5'], { env });
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toMatch(/key "no:such:key" not found/);
    expect(r.stdout).toBe('');
  });

  it('keys big finds the largest keys by memory', async () => {
    const r = await runCli(['keys', 'big', '--db', String(BIG_DB), '--top', '3', '--interval', '0', '--json'], { env, timeoutMs: 120_000 });
    expect(r.exitCode).toBe(0);
    expect(r.json.keys).toHaveLength(3);
    expect(r.json.keys[0]).toMatchObject({ key: 'big:list', type: 'list' });
    expect(r.json.keys[0].bytes).toBeGreaterThan(100_000);
    expect(r.json.scanned).toBe(bigDbKeys.size);
    expect(r.json.byType.hash.keys).toBe(20);
  }, 120_000);
});
