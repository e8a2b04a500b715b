import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/resolve.js';
import { ConfigError } from '../../src/errors.js';
import { describeConfig } from '../../src/config/show.js';

const dir = () => mkdtempSync(join(tmpdir(), 'rqctl-cfg-'));
const resolve = (env: Record<string, string> = {}, flags = {}, cwd = dir()) => resolveConfig({ env, flags, cwd });
const problemsOf = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error('expected a ConfigError');
};

describe('config resolution', () => {
  it('defaults to the old stack: one server, DBs 0/1/2, prefix bull, TTL 1200', () => {
    const c = resolve();
    expect(c.roles.queue).toMatchObject({ host: '127.0.0.1', port: 6379, db: 0, kind: 'standalone' });
    expect(c.roles.cache.db).toBe(1);
    expect(c.roles.session.db).toBe(2);
    expect(c.queue.prefix).toBe('bull');
    expect(c.cache.cryptoDuration).toBe(1200);
    expect(c.sources.redisConfigured).toBe(false);
    expect(c.schedule.map((s) => s.name)).toEqual(['raffles:update-statuses', 'raffles:select-winners', 'refresh-crypto-cache', 'refresh-stock-cache']);
    expect(Object.isFrozen(c.roles.queue)).toBe(true);
  });

  it.each([
    ['REDIS_HOST/PORT/PASSWORD', { REDIS_HOST: 'redis', REDIS_PORT: '6380', REDIS_PASSWORD: 'pw' }, { host: 'redis', port: 6380, password: 'pw', db: 0 }],
    ['REDIS_PASSWORD=null means none', { REDIS_PASSWORD: 'null' }, { password: undefined }],
    ['empty REDIS_PASSWORD means none', { REDIS_PASSWORD: '' }, { password: undefined }],
    [
      'URL sets host, port, auth and the queue DB',
      { REDIS_URL: 'redis://u:p%40ss@h:7000/4' },
      { host: 'h', port: 7000, username: 'u', password: 'p@ss', db: 4 },
    ],
    ['rediss:// means TLS', { REDIS_URL: 'rediss://h:6380' }, { tls: true, port: 6380 }],
    ['REDIS_PASSWORD fills a URL without one', { REDIS_URL: 'redis://h:1', REDIS_PASSWORD: 'env-pw' }, { password: 'env-pw' }],
    ['REDIS_DB moves the queue', { REDIS_DB: '3' }, { db: 3 }],
  ])('%s', (_name, env, expected) => {
    expect(resolve(env).roles.queue).toMatchObject(expected);
  });

  it('cache and session roles follow the URL server with their own DBs', () => {
    const c = resolve({ REDIS_URL: 'redis://h:7000/0', REDIS_CACHE_DB: '5', REDIS_SESSION_DB: '6' });
    expect(c.roles.cache).toMatchObject({ host: 'h', port: 7000, db: 5 });
    expect(c.roles.session).toMatchObject({ host: 'h', port: 7000, db: 6 });
  });

  it('per-role URLs give a split topology', () => {
    const c = resolve({ REDIS_URL: 'redis://q:1/0', REDIS_CACHE_URL: 'redis://c:2' });
    expect(c.roles.queue.host).toBe('q');
    expect(c.roles.cache).toMatchObject({ host: 'c', port: 2, db: 1 });
  });

  it('flags beat the environment, which beats the config file, which beats defaults', () => {
    const cwd = dir();
    writeFileSync(join(cwd, 'rqctl.config.yaml'), 'redis:\n  host: from-file\n  port: 7001\ncache:\n  cryptoDuration: 60\n');
    const fileOnly = resolve({}, {}, cwd);
    expect(fileOnly.roles.queue).toMatchObject({ host: 'from-file', port: 7001 });
    expect(fileOnly.cache.cryptoDuration).toBe(60);
    expect(fileOnly.sources.redisConfigured).toBe(true);
    const envWins = resolve({ REDIS_HOST: 'from-env' }, {}, cwd);
    expect(envWins.roles.queue).toMatchObject({ host: 'from-env', port: 7001 });
    const flagWins = resolve({ REDIS_HOST: 'from-env' }, { redisUrl: 'redis://from-flag:7002/1' }, cwd);
    expect(flagWins.roles.queue).toMatchObject({ host: 'from-flag', port: 7002, db: 1 });
  });

  it('reads .env, and the real environment wins over it; --env-file picks another file', () => {
    const cwd = dir();
    writeFileSync(join(cwd, '.env'), 'REDIS_HOST=dotenv-host\nREDIS_PORT=7100\n');
    writeFileSync(join(cwd, '.env.production'), 'REDIS_HOST=prod-host\n');
    expect(resolve({}, {}, cwd).roles.queue).toMatchObject({ host: 'dotenv-host', port: 7100 });
    expect(resolve({ REDIS_PORT: '7200' }, {}, cwd).roles.queue.port).toBe(7200);
    expect(resolve({}, { envFile: '.env.production' }, cwd).roles.queue.host).toBe('prod-host');
  });

  it.each([
    ['DB 16 in a URL', { REDIS_URL: 'redis://h/16' }, 'redis.url (REDIS_URL): database "16" is not an integer 0–15'],
    ['DB abc in a URL', { REDIS_URL: 'redis://h/abc' }, 'redis.url (REDIS_URL): database "abc" is not an integer 0–15'],
    ['REDIS_DB out of range', { REDIS_DB: '16' }, 'redis.db (REDIS_DB): must be a database index 0–15'],
    ['a port out of range', { REDIS_PORT: '70000' }, 'redis.port (REDIS_PORT): must be a port 1–65535'],
    ['a port out of range in a URL', { REDIS_URL: 'redis://h:70000' }, 'redis.url (REDIS_URL): port 70000 is out of range 1–65535'],
    ['a malformed URL', { REDIS_URL: 'not a url' }, 'redis.url (REDIS_URL): not a valid URL (expected redis://[user:pass@]host:port[/db])'],
    ['a wrong scheme', { REDIS_URL: 'http://h:1' }, 'redis.url (REDIS_URL): unsupported scheme "http" (expected redis:// or rediss://)'],
    [
      'cluster with a DB',
      { REDIS_CLUSTER: 'true', REDIS_URL: 'redis://h:7000/3' },
      'redis.db: a Redis Cluster has only DB 0 (got 3); roles are separated by key prefix',
    ],
    ['sentinel without master', { REDIS_SENTINELS: 'a:26379' }, 'redis.sentinelMaster: REDIS_SENTINEL_MASTER is required with REDIS_SENTINELS'],
  ])('refuses %s', (_name, env, problem) => {
    expect(problemsOf(() => resolve(env))).toContain(problem);
  });

  it('reports every problem at once', () => {
    const problems = problemsOf(() => resolve({ REDIS_DB: 'x', REDIS_CACHE_DB: '99', REDIS_PORT: '0', COINGECKO_API_PLAN: 'gold' }));
    expect(problems).toHaveLength(4);
  });

  it('cluster mode uses DB 0 everywhere and hash-tags the queue prefix', () => {
    const c = resolve({ REDIS_CLUSTER: 'true', REDIS_CLUSTER_NODES: 'n1:7000,n2:7001' });
    expect(c.roles.cache).toMatchObject({ kind: 'cluster', db: 0 });
    expect(c.roles.queue.nodes).toEqual([
      { host: 'n1', port: 7000 },
      { host: 'n2', port: 7001 },
    ]);
    expect(c.queue.prefix).toBe('{bull}');
  });

  it('sentinel mode', () => {
    const c = resolve({ REDIS_SENTINELS: 's1:26379,s2:26380', REDIS_SENTINEL_MASTER: 'mymaster' });
    expect(c.roles.queue).toMatchObject({
      kind: 'sentinel',
      sentinelMaster: 'mymaster',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
      ],
    });
  });

  it('CoinGecko pro plan switches the default base URL', () => {
    expect(resolve().providers.coingecko.baseUrl).toBe('https://api.coingecko.com/api/v3');
    expect(resolve({ COINGECKO_API_PLAN: 'pro' }).providers.coingecko.baseUrl).toBe('https://pro-api.coingecko.com/api/v3');
  });

  it('config show masks every secret', () => {
    const c = resolve({
      REDIS_URL: 'redis://u:url-secret@h:1/0',
      REDIS_PASSWORD: 'pw-secret',
      MAIL_PASSWORD: 'mail-secret',
      COINGECKO_API_KEY: 'cg-secret',
      FINNHUB_API_KEY: 'fh-secret',
    });
    const text = JSON.stringify(describeConfig(c));
    for (const s of ['url-secret', 'pw-secret', 'mail-secret', 'cg-secret', 'fh-secret']) expect(text).not.toContain(s);
    expect(text).toContain('****');
  });

  it('refuses a 4-field cron in the config file, naming the entry', () => {
    const cwd = dir();
    writeFileSync(join(cwd, 'rqctl.config.yaml'), 'schedule:\n  - name: broken\n    cron: "*/5 * * *"\n    command: "true"\n');
    const problems = problemsOf(() => resolve({}, {}, cwd));
    expect(problems.join('\n')).toMatch(/schedule\.0 \(broken\): cron "\*\/5 \* \* \*" has 4 fields/);
  });
});
