import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runCli, type CliResult } from '../helpers/cli.js';
import { ProviderServer } from '../helpers/provider-server.js';
import { RedisServer } from '../helpers/redis-server.js';
import { TestSmtp } from '../helpers/smtp.js';
import { DashboardProcess } from '../helpers/dashboard.js';
import { CliProcess } from '../helpers/worker-process.js';

/**
 * The ACL users of `rqctl config acl`, for real: redis-servers started with the aclfiles the CLI wrote
 * (nothing else: no renamed commands, so every refusal below is the ACL's), the workers and the
 * scheduler as rqctl-worker, jobs dispatched as app, the CLI as operator. Every test ends by reading
 * ACL LOG: a refusal Redis logged that the test did not provoke fails it.
 */

type User = 'rqctl-worker' | 'app' | 'operator' | 'healthcheck';
const USERS: User[] = ['rqctl-worker', 'app', 'operator', 'healthcheck'];
const VARS: Record<User, string> = {
  'rqctl-worker': 'REDIS_ACL_WORKER_PASSWORD',
  app: 'REDIS_ACL_APP_PASSWORD',
  operator: 'REDIS_ACL_OPERATOR_PASSWORD',
  healthcheck: 'REDIS_ACL_HEALTHCHECK_PASSWORD',
};

const nowSec = () => Math.floor(Date.now() / 1000);

describe.each(['split', 'single'] as const)('Redis ACL users, %s topology', (topology) => {
  const passwords = Object.fromEntries(USERS.map((u) => [u, `pw-${u}-${Math.random().toString(36).slice(2, 12)}`])) as Record<User, string>;
  const queuePrefix = 'bull';
  // split: the cache prefix names the cache keys; single: empty, so the cache keys are told apart by family.
  const cachePrefix = topology === 'split' ? 'api:' : '';
  const cacheDb = topology === 'split' ? 0 : 1;
  let dir: string;
  let queueServer: RedisServer;
  let cacheServer: RedisServer;
  let provider: ProviderServer;
  let smtp: TestSmtp;
  const clients: Redis[] = [];
  /** ACL LOG entries tests provoked on purpose, per server port. */
  const provoked = new Map<number, number>();

  const baseEnv = () => ({
    REDIS_HOST: '127.0.0.1',
    REDIS_PORT: String(queueServer.port),
    REDIS_DB: '0',
    REDIS_SESSION_DB: '2',
    ...(topology === 'split' ? { REDIS_CACHE_URL: `redis://127.0.0.1:${cacheServer.port}/0` } : { REDIS_CACHE_DB: '1' }),
    QUEUE_PREFIX: queuePrefix,
    CACHE_PREFIX: cachePrefix,
    COINGECKO_BASE_URL: provider.coingeckoUrl,
    FINNHUB_BASE_URL: provider.finnhubUrl,
    FINNHUB_API_KEY: 'fh',
    MAIL_HOST: '127.0.0.1',
    MAIL_PORT: String(smtp.port),
    MAIL_ENCRYPTION: 'none',
    MAIL_FROM_ADDRESS: 'noreply@example.test',
    ADMIN_EMAIL: 'admin@example.test',
  });
  const envAs = (user: User) => ({ ...baseEnv(), REDIS_USERNAME: user, REDIS_PASSWORD: passwords[user] });
  const cli = (user: User, args: string[], timeoutMs = 60_000): Promise<CliResult> => runCli(args, { env: envAs(user), cwd: dir, timeoutMs });
  const client = (user: User, server: RedisServer, db = 0): Redis => {
    const c = new Redis({ host: '127.0.0.1', port: server.port, username: user, password: passwords[user], db, maxRetriesPerRequest: 1, lazyConnect: false });
    c.on('error', () => {});
    clients.push(c);
    return c;
  };
  const servers = () => (topology === 'split' ? [queueServer, cacheServer] : [queueServer]);
  /** What ACL LOG holds beyond what the tests provoked on purpose. */
  const unexpectedRefusals = async () => {
    const out: string[] = [];
    for (const s of servers()) {
      const log = (await client('operator', s).call('ACL', 'LOG')) as unknown[][];
      const entries = log.map((e) => {
        const o: Record<string, unknown> = {};
        for (let i = 0; i + 1 < e.length; i += 2) o[String(e[i])] = e[i + 1];
        return `${o.username} ${o.reason} ${o.object} (${o.context}) x${o.count}`;
      });
      const count = log.reduce((n, e) => n + Number(e[e.indexOf('count') + 1] ?? 1), 0);
      if (count > (provoked.get(s.port) ?? 0)) out.push(...entries.map((e) => `${s.port}: ${e}`));
    }
    return out;
  };
  const provoke = (server: RedisServer, n = 1) => provoked.set(server.port, (provoked.get(server.port) ?? 0) + n);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rqctl-acl-'));
    [provider, smtp] = await Promise.all([ProviderServer.start(), TestSmtp.start()]);
    // The aclfiles, as an operator writes them.
    const written = await runCli(['config', 'acl', '--topology', topology, '--out', 'acl', '--json'], {
      cwd: dir,
      env: { ...Object.fromEntries(USERS.map((u) => [VARS[u], passwords[u]])), QUEUE_PREFIX: queuePrefix, CACHE_PREFIX: cachePrefix },
    });
    if (written.exitCode !== 0) throw new Error(`rqctl config acl failed: ${written.stderr}`);
    const start = (file: string, policy: string) =>
      RedisServer.start({
        username: 'operator',
        password: passwords.operator,
        // DEBUG enabled, nothing renamed: every refusal below comes from the aclfile.
        args: ['--aclfile', join(dir, 'acl', file), '--maxmemory-policy', policy, '--enable-debug-command', 'yes'],
      });
    if (topology === 'split') [queueServer, cacheServer] = await Promise.all([start('users-queue.acl', 'noeviction'), start('users-cache.acl', 'allkeys-lru')]);
    else queueServer = cacheServer = await start('users.acl', 'noeviction');
    // Small refreshes: one coin, one stock.
    writeFileSync(
      join(dir, 'rqctl.config.yaml'),
      stringify({
        refresh: { crypto: { listPages: 1, ids: ['bitcoin'] }, stock: { watchlist: ['AAPL'] } },
        worker: { lockDurationMs: 5000, stalledIntervalMs: 5000 },
        schedule: [
          { name: 'raffles:update-statuses', cron: '*/5 * * * *', job: { name: 'UpdateRaffleStatuses', data: {} } },
          { name: 'refresh-crypto-cache', cron: '*/15 * * * *', job: { name: 'RefreshCryptoCache', data: {} } },
          { name: 'heartbeat', every: '1s', command: 'echo tick', withoutOverlapping: true },
        ],
      }),
    );
  }, 60_000);

  afterAll(async () => {
    for (const c of clients.splice(0)) c.disconnect();
    await Promise.all([queueServer?.stop(), topology === 'split' ? cacheServer?.stop() : undefined, provider?.close(), smtp?.close()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('rqctl config acl wrote mode-0600 files holding only SHA-256 hashes', () => {
    const files = topology === 'split' ? ['users-queue.acl', 'users-cache.acl'] : ['users.acl'];
    for (const f of files) {
      const path = join(dir, 'acl', f);
      expect(statSync(path).mode & 0o777).toBe(0o600);
      const text = spawnSync('cat', [path], { encoding: 'utf8' }).stdout;
      for (const u of USERS) expect(text).toMatch(new RegExp(`^user ${u} on #[0-9a-f]{64} `, 'm'));
      expect(text).toMatch(/^user default off /m);
      for (const p of Object.values(passwords)) expect(text).not.toContain(p);
    }
  });

  it('rqctl worker as rqctl-worker runs every bundled job dispatched by app: fetches, both refresh flows, e-mail, raffles', async () => {
    const op = client('operator', queueServer);
    const ended = nowSec() - 60;
    await op.sadd('raffles', 'r1', 'r2');
    await op.hset('raffle:r1', { name: 'Ended', status: 'active', starts_at: ended - 3600, ends_at: ended, winners_count: 2 });
    await op.sadd('raffle:r1:entries', 'e1', 'e2', 'e3', 'e4', 'e5');
    await op.hset('raffle:r2', { name: 'Running', status: 'scheduled', starts_at: nowSec() - 10, ends_at: nowSec() + 3600, winners_count: 1 });

    const worker = new CliProcess(['worker', '--queue', 'default,emails', '--concurrency', '4', '--sleep', '1'], envAs('rqctl-worker'), dir);
    try {
      await worker.waitFor((e) => e.event === 'started', 20_000, 'the worker to start');
      const dispatch = (...args: string[]) => cli('app', ['dispatch', ...args, '--wait', '--timeout', '60s', '--json'], 90_000);
      const results = await Promise.all([
        dispatch('FetchCryptoData', 'getCryptoList'),
        dispatch('FetchCryptoData', 'getCryptoDetail', '--param', 'id=bitcoin'),
        dispatch('FetchStockData', 'getStockQuote', '--param', 'symbol=AAPL'),
        dispatch('RefreshCryptoCache'),
        dispatch('RefreshStockCache'),
        dispatch('SendEmail', 'new-inquiry', '--param', 'name=Ann', '--param', 'email=ann@example.org', '--param', 'message=Hello'),
      ]);
      for (const r of results) {
        expect(r.exitCode, r.stderr).toBe(0);
        expect(r.json.state).toBe('completed');
      }
      const refreshes = results.slice(3, 5).map((r) => r.json.returnvalue);
      for (const r of refreshes) expect(r).toMatchObject({ skipped: false, failed: 0 });
      expect(refreshes[0].succeeded).toBeGreaterThanOrEqual(4);
      expect(refreshes[1].succeeded).toBeGreaterThanOrEqual(4);

      // Raffles: statuses first, then the winners of the ended one.
      const statuses = await dispatch('UpdateRaffleStatuses');
      expect(statuses.exitCode, statuses.stderr).toBe(0);
      const winners = await dispatch('SelectRaffleWinners');
      expect(winners.exitCode, winners.stderr).toBe(0);
      expect(await op.hget('raffle:r1', 'status')).toBe('ended');
      expect(await op.hget('raffle:r2', 'status')).toBe('active');
      const drawn = await op.lrange('raffle:r1:winners', 0, -1);
      expect(drawn).toHaveLength(2);
      for (const w of drawn) expect(['e1', 'e2', 'e3', 'e4', 'e5']).toContain(w);

      // The cache: every fetched family under the cache prefix, with a TTL, readable by app.
      const cache = client('operator', cacheServer, cacheDb);
      const [, keys] = await cache.scan('0', 'MATCH', `${cachePrefix}*_*`, 'COUNT', 10_000);
      const families = new Set(keys.map((k) => k.slice(cachePrefix.length).replace(/_[0-9a-f]{32}$/, '')));
      for (const f of [
        'crypto_list',
        'crypto_detail',
        'crypto_prices',
        'crypto_trending',
        'crypto_chart',
        'stock_list',
        'stock_quote',
        'stock_profile',
        'market_news',
      ])
        expect(families).toContain(f);
      for (const k of keys) expect(await cache.ttl(k)).toBeGreaterThan(0);
      const read = await cli('app', ['cache', 'get', keys[0]]);
      expect(read.exitCode, read.stderr).toBe(0);
      expect(read.stdout.length).toBeGreaterThan(0);

      // The e-mail went out once.
      expect(smtp.messages.filter((m) => m.to.includes('admin@example.test'))).toHaveLength(1);

      worker.signal('SIGTERM');
      expect((await worker.exit(30_000)).code).toBe(0);
    } finally {
      await worker.stop();
    }
    expect(await unexpectedRefusals()).toEqual([]);
  }, 180_000);

  it('rqctl scheduler as rqctl-worker syncs its job schedulers and ticks its command entries', async () => {
    const scheduler = new CliProcess(['scheduler'], envAs('rqctl-worker'), dir);
    try {
      await scheduler.waitFor((e) => e.event === 'command.finished' && e.status === 'ok', 30_000, 'a command tick');
      scheduler.signal('SIGTERM');
      expect((await scheduler.exit(30_000)).code).toBe(0);
    } finally {
      await scheduler.stop();
    }
    const op = client('operator', queueServer);
    expect((await op.zrange(`${queuePrefix}:default:repeat`, '0', '-1')).sort()).toEqual(['raffles:update-statuses', 'refresh-crypto-cache']);
    expect(JSON.parse((await op.hget(`${queuePrefix}:rqctl:schedule:last-run`, 'heartbeat'))!)).toMatchObject({ status: 'ok', exitCode: 0 });
    const once = await cli('rqctl-worker', ['scheduler', '--once']);
    expect(once.exitCode, once.stderr).toBe(0);
    expect(await unexpectedRefusals()).toEqual([]);
  }, 90_000);

  it('rqctl as operator: failed retry all, queue clear, cache clear, keys, stats, monitor', async () => {
    // Two jobs that fail at once (a plan without candles: HTTP 403), dispatched and run for real.
    provider.always('finnhub', '/stock/candle', { status: 403, fixture: 'finnhub/error_403.json' });
    const worker = new CliProcess(['worker', '--queue', 'default', '--sleep', '1'], envAs('rqctl-worker'), dir);
    try {
      await worker.waitFor((e) => e.event === 'started', 20_000, 'the worker to start');
      for (const symbol of ['AAPL', 'MSFT']) {
        const r = await cli('app', ['dispatch', 'FetchStockData', 'getStockChart', '--param', `symbol=${symbol}`, '--wait', '--json'], 90_000);
        expect(r.exitCode, r.stderr).toBe(4);
      }
    } finally {
      await worker.stop();
    }
    const failed = await cli('operator', ['failed', 'list', '--json']);
    expect(failed.exitCode, failed.stderr).toBe(0);
    expect(failed.json.total).toBe(2);
    const retried = await cli('operator', ['failed', 'retry', 'all', '--json']);
    expect(retried.exitCode, retried.stderr).toBe(0);
    expect(retried.json.retried).toBe(2);
    const cleared = await cli('operator', ['queue', 'clear', 'default', '--yes', '--json']);
    expect(cleared.exitCode, cleared.stderr).toBe(0);
    expect(cleared.json.removed).toBeGreaterThanOrEqual(2);

    const keys = await cli('operator', ['keys', '--role', 'cache']);
    expect(keys.exitCode, keys.stderr).toBe(0);
    expect(keys.stdout.trim().split('\n').length).toBeGreaterThan(5);
    const stats = await cli('operator', ['stats', '--json']);
    expect(stats.exitCode, stats.stderr).toBe(0);
    expect(stats.json.roles.map((r: { role: string }) => r.role)).toEqual(['queue', 'cache', 'session']);
    const monitor = await cli('operator', ['monitor', '--duration', '1s', '--json']);
    expect(monitor.exitCode, monitor.stderr).toBe(0);
    const clear = await cli('operator', ['cache', 'clear', '--yes', '--json']);
    expect(clear.exitCode, clear.stderr).toBe(0);
    expect(clear.json.deleted).toBeGreaterThan(5);
    const left = await client('operator', cacheServer, cacheDb).scan('0', 'MATCH', `${cachePrefix}*_*`, 'COUNT', 10_000);
    expect(left[1]).toEqual([]);
    provider.reset();
    expect(await unexpectedRefusals()).toEqual([]);
  }, 180_000);

  it('rqctl dashboard as rqctl-worker (as the app container runs it): overview, job browser, metrics, a retry', async () => {
    provider.always('finnhub', '/stock/candle', { status: 403, fixture: 'finnhub/error_403.json' });
    const worker = new CliProcess(['worker', '--queue', 'default', '--sleep', '1'], envAs('rqctl-worker'), dir);
    let failedId: string;
    try {
      await worker.waitFor((e) => e.event === 'started', 20_000, 'the worker to start');
      const r = await cli('app', ['dispatch', 'FetchStockData', 'getStockChart', '--param', 'symbol=NVDA', '--wait', '--json'], 90_000);
      expect(r.exitCode, r.stderr).toBe(4);
      failedId = r.json.id;
    } finally {
      await worker.stop();
      provider.reset();
    }
    const dash = await DashboardProcess.start([], envAs('rqctl-worker'), dir);
    try {
      const overview = await dash.fetch('api/overview');
      expect(overview.status).toBe(200);
      const o = (await overview.json()) as { queues: { name: string }[]; limits: { name: string }[]; limitsError: string | null };
      expect(o.queues.map((q) => q.name)).toContain('default');
      // The provider limits' status script runs as rqctl-worker too (the ACL LOG check below).
      expect(o.limitsError).toBeNull();
      expect(o.limits.map((p) => p.name)).toEqual(['coingecko', 'finnhub']);
      for (const path of ['', 'queues/', 'queues/api/queues', 'metrics', 'healthz']) expect((await dash.fetch(path)).status, path).toBe(200);
      expect(await (await dash.fetch('metrics')).text()).toMatch(/^rqctl_provider_limit_used\{provider="finnhub",window="60"\} \d+$/m);
      const retry = await dash.fetch(`queues/api/queues/default/${failedId}/retry`, { method: 'PUT', headers: { origin: new URL(dash.url).origin } });
      expect(retry.status).toBe(204);
    } finally {
      await dash.stop();
    }
    expect(await unexpectedRefusals()).toEqual([]);
  }, 120_000);

  it('provider rate limits as the ACL users: fetches throttled and paused by a 429 as rqctl-worker, rqctl limits, a permit taken by app with the shipped script', async () => {
    // 2 requests a second for 4 fetches at once: two are throttled; the first request gets a 429 that pauses CoinGecko for 1 s.
    const limited = { COINGECKO_RATE_LIMIT: '2/1s' };
    provider.queue('coingecko', '/coins/bitcoin', { status: 429, headers: { 'retry-after': '1' }, fixture: 'coingecko/error_429.json' });
    const worker = new CliProcess(['worker', '--queue', 'default', '--concurrency', '4', '--sleep', '1'], { ...envAs('rqctl-worker'), ...limited }, dir);
    try {
      await worker.waitFor((e) => e.event === 'started', 20_000, 'the worker to start');
      const results = await Promise.all(
        [1, 2, 3, 4].map(() =>
          cli('app', ['dispatch', 'FetchCryptoData', 'getCryptoDetail', '--param', 'id=bitcoin', '--wait', '--timeout', '60s', '--json'], 90_000),
        ),
      );
      for (const r of results) expect(r.json?.state, r.stderr).toBe('completed');
      expect(worker.eventsNamed('throttled').length).toBeGreaterThan(0);
      expect(worker.eventsNamed('rate-limited')).toHaveLength(1);
    } finally {
      await worker.stop();
      provider.reset();
    }
    for (const user of ['rqctl-worker', 'operator'] as const) {
      const status = await runCli(['limits', '--json'], { env: { ...envAs(user), ...limited }, cwd: dir });
      expect(status.exitCode, status.stderr).toBe(0);
      const cg = status.json.providers.find((p: { name: string }) => p.name === 'coingecko');
      expect(cg, user).toMatchObject({ limits: [{ max: 2, windowMs: 1000 }], http429_1h: 1 });
      expect(cg.throttled1h).toBeGreaterThan(0);
    }

    // The web app, as docs/rate-limits.md shows for PHP: the script rqctl ships, on the limits' keys.
    const shipped = await cli('app', ['limits', '--script', '--json']);
    expect(shipped.exitCode, shipped.stderr).toBe(0);
    const base = `${queuePrefix}:rqctl:limits:php-site`;
    const keys = [`${base}:log`, `${base}:waiting`, `${base}:paused`, `${base}:stats`];
    const app = client('app', queueServer);
    const run = (...args: (string | number)[]) => app.call('EVAL', shipped.json.script, keys.length, ...keys, ...args) as Promise<number[]>;
    expect(await run('take', 1, 1, 60_000, 'php:1')).toEqual([1]);
    const refused = await run('take', 1, 1, 60_000, 'php:2');
    expect(refused.slice(0, 1)).toEqual([0]);
    expect(refused[2]).toBe(1);
    expect((await run('pause', 1000))[1]).toBeGreaterThan(0);
    expect(await run('status', 1, 1, 60_000)).toMatchObject([expect.any(Number), 1, 1, 1]);
    await app.del(...keys);
    expect(await unexpectedRefusals()).toEqual([]);
  }, 180_000);

  it('FLUSHALL, KEYS, DEBUG and CONFIG SET are refused with NOPERM for rqctl-worker and app', async () => {
    for (const user of ['rqctl-worker', 'app'] as const) {
      for (const server of servers()) {
        const c = client(user, server);
        for (const args of [['FLUSHALL'], ['FLUSHDB'], ['KEYS', '*'], ['DEBUG', 'SLEEP', '0'], ['CONFIG', 'SET', 'maxmemory', '1']]) {
          await expect(c.call(args[0], ...args.slice(1)), `${user} ${args.join(' ')}`).rejects.toThrow(/^NOPERM/);
          provoke(server);
        }
      }
    }
    expect(await unexpectedRefusals()).toEqual([]);
  });

  it('app reads the cache, keeps its sessions, and touches nothing of the worker’s', async () => {
    const session = client('app', queueServer, 2);
    expect(await session.set('session:abc', '{"user":1}', 'EX', 60)).toBe('OK');
    expect(await session.get('session:abc')).toBe('{"user":1}');
    expect(await session.del('session:abc')).toBe(1);
    const cache = client('app', cacheServer, cacheDb);
    await expect(cache.set(`${cachePrefix}crypto_list_x`, 'v')).rejects.toThrow(/^NOPERM/);
    provoke(cacheServer);
    await expect(client('app', queueServer).hset('raffle:r1', 'status', 'scheduled')).rejects.toThrow(/^NOPERM/);
    provoke(queueServer);
    const worker = client('rqctl-worker', queueServer, 2);
    await expect(worker.get('session:abc')).rejects.toThrow(/^NOPERM/);
    provoke(queueServer);
    expect(await unexpectedRefusals()).toEqual([]);
  });

  it('rqctl reports a refusal as exit 3 and names the missing permission', async () => {
    const r = await cli('app', ['keys']);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/refused SCAN: the ACL user lacks \+scan/);
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    provoke(queueServer);
    const j = await cli('app', ['keys', '--json']);
    expect(j.exitCode).toBe(3);
    expect(JSON.parse(j.stderr.trim().split('\n').pop()!).error.code).toBe('REDIS_NOPERM');
    provoke(queueServer);
    expect(await unexpectedRefusals()).toEqual([]);
  });

  it('healthcheck can PING and INFO, nothing else', async () => {
    for (const server of servers()) {
      // As the compose healthcheck runs it: the password from REDISCLI_AUTH.
      const ping = spawnSync('redis-cli', ['-p', String(server.port), '--user', 'healthcheck', 'ping'], {
        env: { PATH: process.env.PATH, REDISCLI_AUTH: passwords.healthcheck },
        encoding: 'utf8',
      });
      expect(ping.stdout.trim()).toBe('PONG');
      const c = client('healthcheck', server);
      expect(await c.ping()).toBe('PONG');
      expect(String(await c.info('server'))).toMatch(/redis_version:/);
      for (const args of [
        ['GET', 'x'],
        ['SET', 'x', '1'],
        ['SCAN', '0'],
        ['SELECT', '1'],
        ['CLIENT', 'LIST'],
        ['CONFIG', 'GET', 'maxmemory'],
        ['EVAL', 'return 1', '0'],
        ['MONITOR'],
      ]) {
        await expect(c.call(args[0], ...args.slice(1)), args.join(' ')).rejects.toThrow(/^NOPERM/);
        provoke(server);
      }
    }
    expect(await unexpectedRefusals()).toEqual([]);
  });

  it('rqctl doctor as rqctl-worker and as operator: every role can do what it needs, and nobody can FLUSHALL, KEYS or CONFIG SET', async () => {
    for (const user of ['rqctl-worker', 'operator'] as const) {
      const r = await cli(user, ['doctor', '--json']);
      expect(r.json, r.stderr).toBeDefined();
      const checks = r.json.checks as { id: string; status: string; message: string }[];
      for (const role of ['queue', 'cache', 'session']) {
        expect(checks.find((c) => c.id === `${role}.acl-needs`)).toMatchObject({
          status: 'ok',
          message: expect.stringContaining(`user ${user} may do everything`),
        });
        expect(checks.find((c) => c.id === `${role}.acl-denies`)).toMatchObject({ status: 'ok' });
      }
      expect(checks.find((c) => c.id === 'flush-commands')).toMatchObject({ status: 'ok' });
      expect(checks.filter((c) => c.status === 'fail')).toEqual([]);
      expect(r.exitCode).toBe(0);
    }
  });
});

describe('rqctl config acl', () => {
  it('a missing password is exit 2 naming the variable; nothing is written', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'rqctl-acl-cli-'));
    try {
      const r = await runCli(['config', 'acl'], {
        cwd,
        env: { REDIS_ACL_WORKER_PASSWORD: 'w', REDIS_ACL_APP_PASSWORD: 'a', REDIS_ACL_OPERATOR_PASSWORD: 'o' },
      });
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toMatch(/^error: REDIS_ACL_HEALTHCHECK_PASSWORD is not set: no aclfile was written$/m);
      expect(() => statSync(join(cwd, 'docker'))).toThrow();
      const j = await runCli(['config', 'acl', '--topology', 'single', '--json'], { cwd });
      expect(j.exitCode).toBe(2);
      expect(JSON.parse(j.stderr).error).toMatchObject({
        code: 'ACL_PASSWORD_MISSING',
        details: { missing: ['REDIS_ACL_WORKER_PASSWORD', 'REDIS_ACL_APP_PASSWORD', 'REDIS_ACL_OPERATOR_PASSWORD', 'REDIS_ACL_HEALTHCHECK_PASSWORD'] },
      });
      const bad = await runCli(['config', 'acl', '--topology', 'both'], { cwd });
      expect(bad.exitCode).toBe(2);
      expect(bad.stderr).toMatch(/--topology must be split or single/);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('reads the passwords from .env like every setting, and never shows them', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'rqctl-acl-cli-'));
    try {
      writeFileSync(
        join(cwd, '.env'),
        'REDIS_ACL_WORKER_PASSWORD=secret-w\nREDIS_ACL_APP_PASSWORD=secret-a\nREDIS_ACL_OPERATOR_PASSWORD=secret-o\nREDIS_ACL_HEALTHCHECK_PASSWORD=secret-h\n',
      );
      const r = await runCli(['config', 'acl', '--json'], { cwd });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.json.files.map((f: { path: string; status: string }) => [f.path, f.status])).toEqual([
        ['docker/users-queue.acl', 'written'],
        ['docker/users-cache.acl', 'written'],
      ]);
      const shown = await runCli(['config', 'show', '--json'], { cwd });
      expect(shown.json.acl).toMatchObject({ workerPassword: '****', sessionKeys: ['session:*'] });
      expect(`${r.stdout}${r.stderr}${shown.stdout}`).not.toMatch(/secret-/);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});
