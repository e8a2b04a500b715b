import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runCli, spawnCli, stopProcess, waitForOutput } from '../helpers/cli.js';
import { RedisServer } from '../helpers/redis-server.js';

const hardened = inject('hardenedRedisUrl');
const password = inject('hardenedRedisPassword');
const portOf = (url: string) => new URL(url).port;
const hardenedEnv = { REDIS_HOST: '127.0.0.1', REDIS_PORT: portOf(hardened), REDIS_PASSWORD: password };

describe('rqctl stats', () => {
  it('--json gives the documented shape per role, password masked', async () => {
    const r = await runCli(['stats', '--json'], { env: hardenedEnv });
    expect(r.exitCode).toBe(0);
    expect(r.json.roles.map((x: any) => x.role)).toEqual(['queue', 'cache', 'session']);
    for (const role of r.json.roles) {
      for (const f of ['usedMemory', 'maxmemory', 'evictedKeys', 'opsPerSec', 'connectedClients']) expect(typeof role[f]).toBe('number');
      expect(role.maxmemory).toBe(256 * 1024 * 1024);
      expect(role.maxmemoryPolicy).toBe('noeviction');
      expect(role.hitRatio === null || (role.hitRatio >= 0 && role.hitRatio <= 1)).toBe(true);
      expect(typeof role.keyspace).toBe('object');
      expect(role.persistence.aofEnabled).toBe(true);
      expect(role.connectedClients).toBeGreaterThanOrEqual(1);
    }
    expect(r.stdout + r.stderr).not.toContain(password);
  });

  it('--role cache shows one role; a human table otherwise', async () => {
    const r = await runCli(['stats', '--role', 'cache', '--json'], { env: hardenedEnv });
    expect(r.json.roles).toHaveLength(1);
    expect(r.json.roles[0]).toMatchObject({ role: 'cache', db: 1 });
    const human = await runCli(['stats'], { env: hardenedEnv });
    expect(human.stdout).toMatch(/memory\s+.* of 256\.00M/);
    expect(human.stdout).toMatch(/policy\s+noeviction/);
    expect((await runCli(['stats', '--role', 'cash'], { env: hardenedEnv })).exitCode).toBe(2);
  });

  it('--watch refreshes (one JSON object per line off a terminal) and stops with --count or Ctrl-C (exit 0)', async () => {
    const r = await runCli(['stats', '--watch', '--count', '2', '--interval', '200ms', '--role', 'queue'], { env: hardenedEnv });
    expect(r.exitCode).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    expect(lines[1].roles[0].role).toBe('queue');
    expect(typeof lines[1].time).toBe('string');
    const child = spawnCli(['stats', '--watch', '--interval', '200ms'], { env: hardenedEnv });
    await waitForOutput(child, (s) => s.includes('"roles"'));
    const { code } = await stopProcess(child, 'SIGINT');
    expect(code).toBe(0);
  });

  it('an unreachable server exits 3', async () => {
    const r = await runCli(['stats', '--redis-url', 'redis://127.0.0.1:1/0']);
    expect(r.exitCode).toBe(3);
  });
});

describe('rqctl monitor', () => {
  let server: RedisServer;
  const pw = 'monitor-secret-pw';
  beforeAll(async () => {
    server = await RedisServer.start({ password: pw });
  });
  afterAll(async () => {
    await server?.stop();
  });
  const env = () => ({ REDIS_URL: `redis://127.0.0.1:${server.port}/0`, REDIS_PASSWORD: pw });

  async function monitorClients(): Promise<number> {
    const c = server.client();
    const list = String(await c.client('LIST'));
    c.disconnect();
    return list.split('\n').filter((l) => / flags=\S*O/.test(l)).length;
  }

  it('--duration 2s shows the commands run meanwhile, masks AUTH passwords, then closes its connection', async () => {
    const token = `tok-${randomUUID()}`;
    const child = spawnCli(['monitor', '--duration', '2s'], { env: env() });
    let stdout = '';
    child.stdout!.on('data', (d) => (stdout += d));
    await waitForOutput(child, (s) => s.includes('monitoring'));
    expect(await monitorClients()).toBe(1);
    const c = new Redis({ host: '127.0.0.1', port: server.port, password: pw, db: 1, lazyConnect: true });
    await c.connect();
    await c.set(token, 'v');
    await c.call('AUTH', pw);
    c.disconnect();
    const exit = await new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    expect(exit).toBe(0);
    expect(stdout).toMatch(new RegExp(`\\[1 127\\.0\\.0\\.1:\\d+\\] "set" "${token}" "v"`));
    expect(stdout).toMatch(/"(AUTH|auth)" "\*\*\*\*"/);
    expect(stdout).not.toContain(pw);
    expect(await monitorClients()).toBe(0);
  });

  it('--match filters and --limit stops early; --json gives one object per line', async () => {
    const token = `lim-${randomUUID()}`;
    const child = spawnCli(['monitor', '--duration', '20s', '--match', token, '--limit', '3', '--json'], { env: env() });
    let stdout = '';
    child.stdout!.on('data', (d) => (stdout += d));
    await waitForOutput(child, (s) => s.includes('monitoring'));
    const c = server.client(2);
    for (let i = 0; i < 10; i++) {
      await c.set(`${token}:${i}`, 'x');
      await c.set(`other:${i}`, 'x');
    }
    c.disconnect();
    const started = Date.now();
    const exit = await new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    expect(exit).toBe(0);
    expect(Date.now() - started).toBeLessThan(15_000);
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatchObject({ db: 2, args: ['set', `${token}:0`, 'x'] });
    expect(await monitorClients()).toBe(0);
  });

  it("--role narrows to that role's DB", async () => {
    const child = spawnCli(['monitor', '--duration', '1500ms', '--role', 'cache', '--json'], { env: env() });
    let stdout = '';
    child.stdout!.on('data', (d) => (stdout += d));
    await waitForOutput(child, (s) => s.includes('monitoring'));
    const q = server.client(0);
    const cch = server.client(1);
    await q.set('in-queue-db', 'x');
    await cch.set('in-cache-db', 'x');
    q.disconnect();
    cch.disconnect();
    await new Promise((r) => child.once('exit', r));
    expect(stdout).toContain('in-cache-db');
    expect(stdout).not.toContain('in-queue-db');
  });
});

describe('rqctl doctor: cache and eviction checks', () => {
  it('fails on a server holding the queue that has evicted keys, warns on cache keys without TTL', async () => {
    const server = await RedisServer.start({ args: ['--maxmemory', '2mb', '--maxmemory-policy', 'allkeys-lru'] });
    try {
      const cache = server.client(1);
      await cache.set('stock_quote_forever', 'x');
      await cache.set('stock_quote_ok', 'x', 'EX', 1200);
      const q = server.client(0);
      const filler = 'x'.repeat(10_000);
      for (let i = 0; i < 600; i++) await q.set(`fill:${i}`, filler);
      expect(Number((String(await q.info('stats')).match(/evicted_keys:(\d+)/) ?? [])[1])).toBeGreaterThan(0);
      q.disconnect();
      cache.disconnect();
      const r = await runCli(['doctor', '--json'], { env: { REDIS_URL: `redis://127.0.0.1:${server.port}/0` } });
      expect(r.exitCode).toBe(4);
      const byId = Object.fromEntries(r.json.checks.map((c: any) => [c.id, c]));
      expect(byId.evictions.status).toBe('fail');
      expect(byId.evictions.message).toMatch(/evicted \d+ keys/);
      expect(byId['cache.hit-ratio']).toBeDefined();
      // allkeys-lru may have evicted the cache keys too; when one survived without TTL, it is reported.
      if (byId['cache.keys-ttl'].status === 'warn') expect(byId['cache.keys-ttl'].message).toContain('stock_quote_forever');
    } finally {
      await server.stop();
    }
  });

  it('reports cache keys without TTL (sampled) as a warning', async () => {
    const server = await RedisServer.start({ args: ['--maxmemory-policy', 'noeviction'] });
    try {
      const cache = server.client(1);
      await cache.set('crypto_list_forever', 'x');
      await cache.set('crypto_list_fine', 'x', 'EX', 1200);
      cache.disconnect();
      const r = await runCli(['doctor', '--json'], { env: { REDIS_URL: `redis://127.0.0.1:${server.port}/0` } });
      const byId = Object.fromEntries(r.json.checks.map((c: any) => [c.id, c]));
      expect(byId['cache.keys-ttl']).toMatchObject({ status: 'warn' });
      expect(byId['cache.keys-ttl'].message).toMatch(/1 of 2 sampled keys have no TTL \(e\.g\. crypto_list_forever\)/);
      expect(byId.evictions.status).toBe('ok');
    } finally {
      await server.stop();
    }
  });
});
