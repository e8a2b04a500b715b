import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../helpers/redis-server.js';
import { ROOT, runCli, tempCwd } from '../helpers/cli.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { ConfigError } from '../../src/errors.js';

/**
 * Issue 13, item 14: names and keys that would be silently changed are refused (exit 2) before
 * anything connects or is written. The Redis URL points where nothing listens: connecting would be exit 3.
 */

async function dispatchArgs(...args: string[]) {
  const dead = await freePort();
  return runCli(['dispatch', ...args, '--redis-url', `redis://127.0.0.1:${dead}/0`], { timeoutMs: 20_000 });
}

describe('item 14: input that would be changed silently is refused', () => {
  it('item 14: dispatch --queue rqctl (the reserved name) is exit 2, nothing enqueued', async () => {
    const r = await dispatchArgs('FetchStockData', 'getStockQuote', '--param', 'symbol=AAPL', '--queue', 'rqctl');
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/queue name "rqctl" is reserved/);
  });

  it.each(['constructor=1', '__proto__=1', 'prototype=x'])('item 14: dispatch --param %s is exit 2, not silently dropped', async (param) => {
    const r = await dispatchArgs('FetchStockData', 'getStockQuote', '--param', 'symbol=AAPL', '--param', param);
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`--param name "${param.split('=')[0]}" is not allowed`));
  });

  it('item 14: a param named like an Object method (toString) is an unknown param, not a known one', async () => {
    const r = await dispatchArgs('FetchStockData', 'getStockQuote', '--param', 'symbol=AAPL', '--param', 'toString=1');
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/unknown param "toString"/);
  });

  it('item 14: --data with a __proto__ key anywhere is exit 2', async () => {
    const r = await dispatchArgs(
      'SendEmail',
      '--data',
      '{"template":"new-inquiry","data":{"name":"A","email":"a@example.com","message":"m","__proto__":{"x":1}}}',
    );
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/--data: the key "__proto__" \(at data\.__proto__\) is not allowed/);
  });

  it('item 14: a schedule entry on the reserved queue is a config error', () => {
    const cwd = tempCwd();
    writeFileSync(join(cwd, 'rqctl.config.yaml'), 'schedule:\n  - name: x\n    cron: "* * * * *"\n    job: { name: RefreshCryptoCache, queue: rqctl }\n');
    let problems: string[] = [];
    try {
      resolveConfig({ env: {}, cwd });
    } catch (e) {
      if (e instanceof ConfigError) problems = e.problems;
    }
    expect(problems.join('\n')).toMatch(/schedule\.0 \(x\): the queue name "rqctl" is reserved/);
  });

  const NO_ENGINE = { DOCKER_HOST: `unix://${join(ROOT, 'no-such-dir', 'docker.sock')}` };

  it.each([['x; touch /tmp/owned'], ['Shop'], ['-shop'], ['shop.prod']])("item 14: deploy -p '%s' (a name compose would rewrite) is exit 2", async (name) => {
    const r = await runCli(['deploy', '--dry-run', '-p', name], { cwd: tempCwd(), env: NO_ENGINE });
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/not a valid compose project name/);
    expect(r.stdout).toBe('');
  });

  it('item 14: COMPOSE_PROJECT_NAME that compose would rewrite is exit 2 too; a valid -p is used as given', async () => {
    const bad = await runCli(['deploy', '--dry-run'], { cwd: tempCwd(), env: { ...NO_ENGINE, COMPOSE_PROJECT_NAME: 'My Shop' } });
    expect(bad.exitCode, bad.stderr).toBe(2);
    expect(bad.stderr).toMatch(/COMPOSE_PROJECT_NAME "My Shop" is not a valid compose project name/);
    const good = await runCli(['deploy', '--dry-run', '--json', '-p', 'shop_2-prod'], { cwd: tempCwd(), env: NO_ENGINE });
    expect(good.exitCode, good.stderr).toBe(0);
    expect(good.json.project).toBe('shop_2-prod');
  });
});
