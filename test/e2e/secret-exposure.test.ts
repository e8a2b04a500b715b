import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { pidAlive, TEST_JOBS } from '../helpers/queue.js';
import { CliProcess } from '../helpers/worker-process.js';
import { maskSecrets } from '../../src/config/endpoints.js';

/**
 * Issue 13, item 7: `up --redis-url redis://:pw@…` must not put the URL on the workers' command lines
 * (every user sees them in `ps`), and `config show` masks the credentials of every URL setting, not
 * only redis:// ones.
 */

const hardened = inject('hardenedRedisUrl');
const password = inject('hardenedRedisPassword');
const started: CliProcess[] = [];
const pids: number[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => p.stop()));
  for (const pid of pids.splice(0)) if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
});

describe('item 7: secrets stay out of argv and config show', () => {
  it("item 7: up --redis-url with a password: the workers' command lines (ps) do not carry the URL, and they connect", async () => {
    const url = hardened.replace('/0', '/0');
    expect(url).toContain(encodeURIComponent(password));
    const p = new CliProcess(['up', '--no-scheduler', '--status-interval', '1s', '--redis-url', url], { RQCTL_EXTRA_JOBS: TEST_JOBS });
    started.push(p);
    const ready = await p.waitFor((e) => e.event === 'ready', 30_000, 'ready');
    pids.push(...ready.workers.pids);
    // Started and connected: the worker reports itself running only once Redis answered it.
    await p.waitFor((e) => e.event === 'started' && e.worker === 1, 30_000, 'the worker');
    const workerPids: number[] = ready.workers.pids.filter((x: number) => x > 0);
    expect(workerPids.length).toBe(1);
    for (const pid of workerPids) {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      expect(argv).toContain('worker');
      expect(argv.join(' ')).not.toContain(password);
      expect(argv.join(' ')).not.toContain(encodeURIComponent(password));
      expect(argv).not.toContain('--redis-url');
    }
    expect(p.stdout + p.stderr).not.toContain(password);
  });

  it('item 7: config show masks credentials in every URL setting (provider base URLs with user:pass, token query parameters)', async () => {
    const r = await runCli(['config', 'show', '--json'], {
      env: {
        COINGECKO_BASE_URL: 'https://proxy-user:proxy-secret-1@proxy.example.com/api/v3',
        FINNHUB_BASE_URL: 'https://finnhub.example.com/api/v1?token=query-secret-2&x=1',
        REDIS_CACHE_URL: 'rediss://cache-user:cache-secret-3@cache.example.com:6380/1',
      },
    });
    expect(r.exitCode, r.stderr).toBe(0);
    for (const secret of ['proxy-secret-1', 'query-secret-2', 'cache-secret-3']) expect(r.stdout).not.toContain(secret);
    expect(r.json.providers.coingecko.baseUrl).toBe('https://proxy-user:****@proxy.example.com/api/v3');
    expect(r.json.providers.finnhub.baseUrl).toBe('https://finnhub.example.com/api/v1?token=****&x=1');
    const human = await runCli(['config', 'show'], { env: { COINGECKO_BASE_URL: 'http://u:proxy-secret-1@10.0.0.5:3128/api' } });
    expect(human.stdout).not.toContain('proxy-secret-1');
  });

  it('item 7: log lines and errors mask the password of any URL, not only redis://', () => {
    expect(maskSecrets('GET https://u:p4ss@host/x failed')).toBe('GET https://u:****@host/x failed');
    expect(maskSecrets('webhook https://hooks.example.com/x?token=abc123&y=2')).toBe('webhook https://hooks.example.com/x?token=****&y=2');
    expect(maskSecrets('redis://:pw@h:1/0 and amqp://a:b@c')).toBe('redis://:****@h:1/0 and amqp://a:****@c');
    expect(maskSecrets('no url here')).toBe('no url here');
  });
});
