import { describe, expect, it } from 'vitest';
import { freePort } from '../helpers/redis-server.js';
import { runCli } from '../helpers/cli.js';
import { durationOption } from '../../src/cli/context.js';
import { MAX_TIMER_MS } from '../../src/util/duration.js';

/**
 * Issue 13, item 11: every duration flag has bounds. Out of bounds is exit 2 before anything
 * connects (the URL points at a port where nothing listens: connecting would be exit 3).
 */

const CASES: { args: string[]; message: RegExp }[] = [
  { args: ['stats', '--watch', '--interval', '0'], message: /--interval must be at least 100ms \(got "0"\)/ },
  { args: ['monitor', '--duration', '99999999999s'], message: /--duration must be at most 24d/ },
  { args: ['monitor', '--duration', '0'], message: /--duration must be at least/ },
  { args: ['queue', 'monitor', '--interval', '0'], message: /--interval must be at least 100ms/ },
  { args: ['queue', 'monitor', '--once', '--max-wait', '9999d'], message: /--max-wait must be at most 365d/ },
  { args: ['dispatch', 'RefreshCryptoCache', '--wait', '--timeout', '30d'], message: /--timeout must be at most 24d .*timer/ },
  { args: ['dispatch', 'RefreshCryptoCache', '--delay', '5000d'], message: /--delay must be at most 365d/ },
  { args: ['worker', '--timeout', '30d'], message: /--timeout must be at most 1d/ },
  { args: ['worker', '--max-time', '30d'], message: /--max-time must be at most 24d/ },
  { args: ['worker', '--sleep', '1h'], message: /--sleep must be at most 10s/ },
  { args: ['up', '--status-interval', '0'], message: /--status-interval must be at least 100ms/ },
  { args: ['deploy', '--dry-run', '--timeout', '30d'], message: /--timeout must be at most 24d/ },
];

describe('item 11: duration flags are bounded', () => {
  for (const c of CASES) {
    it(`item 11: rqctl ${c.args.join(' ')} is exit 2 before connecting`, async () => {
      const dead = await freePort();
      const r = await runCli([...c.args, '--redis-url', `redis://127.0.0.1:${dead}/0`], { timeoutMs: 20_000 });
      expect(r.exitCode, r.stderr).toBe(2);
      expect(r.stderr).toMatch(c.message);
      expect(r.stderr).not.toMatch(/refused the connection/);
    });
  }

  it('item 11: the one CLI duration parser keeps every value a Node timer can hold', () => {
    const parse = durationOption('--x');
    expect(parse('24d')).toBe(24 * 86_400_000);
    expect(() => parse('25d')).toThrow(/--x must be at most 24d/);
    expect(MAX_TIMER_MS).toBeLessThanOrEqual(2 ** 31 - 1);
    expect(durationOption('--y', { min: 1000 })('1s')).toBe(1000);
    expect(() => durationOption('--y', { min: 1000 })('999ms')).toThrow(/at least 1s/);
  });

  it('item 11 (help): queue monitor --help shows its default interval as 5s, not 5000', async () => {
    const r = await runCli(['queue', 'monitor', '--help']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/--interval <duration>[\s\S]*\(default: 5s\)/);
    expect(r.stdout).not.toContain('5000');
  });
});
