import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer } from '../helpers/redis-server.js';
import { runCli } from '../helpers/cli.js';
import { digest } from '../helpers/chaos.js';

/**
 * Fills a server until it refuses writes (noeviction): 64 KB values, then 512-byte ones to the last
 * few hundred bytes — really full, not a flag.
 */
async function fillUntilFull(server: RedisServer): Promise<number> {
  const c = server.client();
  let n = 0;
  try {
    for (const size of [65_536, 512]) {
      const pad = 'x'.repeat(size);
      for (;;) {
        try {
          await c.set(`pad:${size}:${n++}`, pad);
        } catch (e) {
          expect(String((e as Error).message)).toMatch(/^OOM/);
          break;
        }
      }
    }
    return n;
  } finally {
    c.disconnect();
  }
}

describe('the queue server full under noeviction (SPEC §11)', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await RedisServer.start({ args: ['--maxmemory', '4mb', '--maxmemory-policy', 'noeviction', '--enable-debug-command', 'local'] });
    expect(await fillUntilFull(server)).toBeGreaterThan(0);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('dispatch fails with a clear error and exit 3, and nothing is half-written', async () => {
    const before = await digest(server);
    const r = await runCli(['dispatch', 'FetchStockData', 'getStockQuote', '--param', 'symbol=AAPL'], { env: { REDIS_URL: server.url() } });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/^error: Redis at redis:\/\/127\.0\.0\.1:\d+\/0 \(queue role\) is out of memory \(maxmemory reached under noeviction\) and refused the write .*; nothing was enqueued$/m);
    expect(r.stderr).toMatch(/^hint: .*maxmemory/m);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe('');
    expect(await digest(server)).toBe(before);

    const j = await runCli(['dispatch', 'SendEmail', '--data', '{"template":"new-inquiry","data":{"name":"A","email":"a@example.com","message":"hi"}}', '--json'], { env: { REDIS_URL: server.url() } });
    expect(j.exitCode).toBe(3);
    expect(JSON.parse(j.stderr.trim().split('\n').pop()!).error.code).toBe('REDIS_OOM');
    expect(await digest(server)).toBe(before);
  });

  it('once memory is freed, the same dispatch goes through', async () => {
    const c = server.client();
    await c.del('pad:65536:0', 'pad:65536:1', 'pad:65536:2', 'pad:65536:3');
    c.disconnect();
    const r = await runCli(['dispatch', 'FetchStockData', 'getStockQuote', '--param', 'symbol=AAPL', '--json'], { env: { REDIS_URL: server.url() } });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ queue: 'default', name: 'FetchStockData' });
  });
});
