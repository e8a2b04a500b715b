import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { RedisServer } from '../helpers/redis-server.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { runCli } from '../helpers/cli.js';

/** The proxy itself: the other chaos tests rely on it doing exactly what it says. */
describe('TcpProxy', () => {
  let server: RedisServer;
  let proxy: TcpProxy;
  beforeAll(async () => {
    server = await RedisServer.start();
    proxy = await TcpProxy.start({ port: server.port });
  });
  afterAll(async () => {
    await proxy?.close();
    await server?.stop();
  });

  const client = () => {
    const c = new Redis({ port: proxy.port, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null });
    c.on('error', () => {});
    return c;
  };

  it('passes traffic through, and delays it in order', async () => {
    const c = client();
    try {
      expect(await c.ping()).toBe('PONG');
      proxy.delay(150);
      const t0 = Date.now();
      const replies = await Promise.all([c.set('proxy:a', '1'), c.incr('proxy:n'), c.incr('proxy:n'), c.get('proxy:a')]);
      expect(replies).toEqual(['OK', 1, 2, '1']);
      // Request and reply each wait 150 ms.
      expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    } finally {
      proxy.delay(0);
      c.disconnect();
    }
  });

  it('stalls without closing, then delivers what was held', async () => {
    const c = client();
    try {
      await c.ping();
      proxy.stall();
      let answered = false;
      const pending = c.incr('proxy:stalled').then((v) => {
        answered = true;
        return v;
      });
      await new Promise((r) => setTimeout(r, 500));
      expect(answered).toBe(false);
      expect(proxy.connections).toBe(1);
      proxy.resume();
      expect(await pending).toBe(1);
    } finally {
      proxy.resume();
      c.disconnect();
    }
  });

  it('resets open connections, and refuses new ones while told to', async () => {
    const c = client();
    try {
      await c.ping();
      const closed = new Promise<Error>((resolve) => c.once('error', resolve));
      expect(proxy.reset()).toBe(1);
      expect(String((await closed).message)).toMatch(/ECONNRESET/);
    } finally {
      c.disconnect();
    }
    proxy.refuse(true);
    const r = await runCli(['ping', '--json'], { env: { REDIS_URL: proxy.url() } });
    proxy.refuse(false);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a one-shot command through a stalled link gives up within its connect timeout, exit 3', async () => {
    proxy.stall();
    try {
      const t0 = Date.now();
      const r = await runCli(['ping'], { env: { REDIS_URL: proxy.url(), REDIS_CONNECT_TIMEOUT: '1500' }, timeoutMs: 20_000 });
      expect(r.exitCode).toBe(3);
      expect(r.stderr).toMatch(/did not answer within 1\.5 s/);
      expect(Date.now() - t0).toBeLessThan(15_000);
    } finally {
      proxy.resume();
    }
  });
});
