import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/resolve.js';
import { ConfigError, isRqctlError } from '../../src/errors.js';

/** Issue 13, item 12: empty values, unknown keys, files that are not a config, and every problem at once. */

const dir = () => mkdtempSync(join(tmpdir(), 'rqctl-strict-'));

function withFile(text: string, name = 'rqctl.config.yaml'): string {
  const cwd = dir();
  writeFileSync(join(cwd, name), text);
  return cwd;
}

function failure(fn: () => unknown): { exitCode: number; problems: string[]; message: string } {
  try {
    fn();
  } catch (e) {
    if (!isRqctlError(e)) throw e;
    return { exitCode: e.exitCode, problems: e instanceof ConfigError ? e.problems : [e.message], message: e.message };
  }
  throw new Error('expected the configuration to be refused');
}

describe('item 12: strict configuration', () => {
  it("item 12: --redis-url '' is exit 2, not silently the default server (port 6379 on this host)", () => {
    const f = failure(() => resolveConfig({ env: {}, flags: { redisUrl: '' }, cwd: dir() }));
    expect(f.exitCode).toBe(2);
    expect(f.problems.join('\n')).toMatch(/redis\.url \(--redis-url\): .*empty/);
  });

  it('item 12: unknown keys in rqctl.config.yaml (reddis:, worker.concurency) are exit 2 with "did you mean"', () => {
    const cwd = withFile('reddis:\n  host: h\nworker:\n  concurency: 4\n');
    const f = failure(() => resolveConfig({ env: {}, cwd }));
    expect(f.exitCode).toBe(2);
    expect(f.problems).toContainEqual(expect.stringMatching(/^reddis \(rqctl\.config\.yaml reddis\): unknown key; did you mean "redis"\?/));
    expect(f.problems).toContainEqual(expect.stringMatching(/^worker\.concurency \(.*\): unknown key; did you mean "concurrency"\?/));
  });

  it('item 12: the unknown-key check follows the schema: nested objects, schedule entries, and free-form maps', () => {
    const cwd = withFile(
      [
        'refresh:',
        '  crypto:',
        '    listPages: 3',
        '    chartDayz: 7',
        'cache:',
        '  tags:',
        '    anything-goes: [stock_quote]',
        'schedule:',
        '  - name: nightly',
        '    cron: "0 3 * * *"',
        '    job: { name: RefreshCryptoCache, data: { free: 1 } }',
        '    withoutOverlaping: true',
        '',
      ].join('\n'),
    );
    const f = failure(() => resolveConfig({ env: {}, cwd }));
    expect(f.problems).toHaveLength(2);
    expect(f.problems[0]).toMatch(/^refresh\.crypto\.chartDayz .*unknown key; did you mean "chartDays"\?/);
    expect(f.problems[1]).toMatch(/^schedule\.0\.withoutOverlaping .*unknown key; did you mean "withoutOverlapping"\?/);
  });

  it('item 12: a key far from every known one is reported with the keys that are known there', () => {
    const f = failure(() => resolveConfig({ env: {}, cwd: withFile('redis:\n  xyzzy: 1\n') }));
    expect(f.problems[0]).toMatch(/^redis\.xyzzy .*unknown key \(known here: url, host, port/);
  });

  it('item 12: --config on a docker compose file is exit 2 and says what it is', () => {
    const cwd = withFile('services:\n  redis:\n    image: redis:7\n', 'docker-compose.prod.yml');
    const f = failure(() => resolveConfig({ env: {}, flags: { config: 'docker-compose.prod.yml' }, cwd }));
    expect(f.exitCode).toBe(2);
    expect(f.message).toMatch(/docker-compose\.prod\.yml.*compose file, not an rqctl config/);
  });

  it.each([
    ['a YAML list', '- a\n- b\n'],
    ['a dotenv file', 'REDIS_URL=redis://h:6379/0\n'],
    ['a YAML scalar', '42\n'],
  ])('item 12: --config on %s is exit 2', (_what, text) => {
    const cwd = withFile(text, 'not-a-config');
    const f = failure(() => resolveConfig({ env: {}, flags: { config: 'not-a-config' }, cwd }));
    expect(f.exitCode).toBe(2);
    expect(f.message).toMatch(/not-a-config.*must be a mapping of settings/);
  });

  it('item 12: every problem at once: REDIS_URL=redis://h/16 with REDIS_CACHE_DB=abc reports both', () => {
    const f = failure(() => resolveConfig({ env: { REDIS_URL: 'redis://h/16', REDIS_CACHE_DB: 'abc' }, cwd: dir() }));
    expect(f.problems).toHaveLength(2);
    expect(f.problems).toContainEqual(expect.stringMatching(/^redis\.cacheDb \(REDIS_CACHE_DB\): must be a database index 0–15/));
    expect(f.problems).toContainEqual(expect.stringMatching(/^redis\.url \(REDIS_URL\): database "16" is not an integer 0–15/));
  });

  it('item 12: every problem at once: type errors, Sentinel, schedule and unknown keys together', () => {
    const cwd = withFile(
      ['worker:', '  concurrency: lots', 'schedule:', '  - name: bad', '    cron: "61 * * * *"', '    job: { name: RefreshCryptoCache }', 'mial: {}', ''].join(
        '\n',
      ),
    );
    const f = failure(() => resolveConfig({ env: { REDIS_PORT: '0', REDIS_SENTINELS: 'h:26379' }, cwd }));
    const text = f.problems.join('\n');
    expect(text).toMatch(/redis\.port \(REDIS_PORT\): must be a port/);
    expect(text).toMatch(/worker\.concurrency .*must be a count/);
    expect(text).toMatch(/redis\.sentinelMaster: REDIS_SENTINEL_MASTER is required/);
    expect(text).toMatch(/schedule\.0 \(bad\): /);
    expect(text).toMatch(/^mial .*did you mean "mail"/m);
  });

  it('a valid config file with every section still resolves', () => {
    const cwd = withFile('redis:\n  host: h\nworker:\n  concurrency: 2\nrefresh:\n  stock:\n    charts: true\nenv:\n  queueConnection: redis\n');
    const c = resolveConfig({ env: {}, cwd });
    expect(c.worker.concurrency).toBe(2);
    expect(c.roles.queue.host).toBe('h');
  });
});
