import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync, chmodSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { choosePort, findRedisServer, portIsFree, startEmbeddedRedis } from '../../src/runtime/embedded-redis.js';
import type { RuntimeEvent } from '../../src/runtime/events.js';
import { pidAlive } from '../helpers/queue.js';
import { freePort } from '../helpers/redis-server.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A listener that counts connections: proof that a port is only bind-tested, never connected to. */
async function occupied(): Promise<{ port: number; connections: () => number }> {
  let n = 0;
  const srv: Server = createServer((s) => {
    n++;
    s.destroy();
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => srv.close(() => r())));
  return { port: (srv.address() as { port: number }).port, connections: () => n };
}

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'rqctl-embedded-'));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

describe('embedded redis-server: port and binary', () => {
  it('keeps the preferred port when free, else picks another without ever connecting to the busy one', async () => {
    const busy = await occupied();
    expect(await portIsFree(busy.port)).toBe(false);
    const chosen = await choosePort(busy.port);
    expect(chosen).not.toBe(busy.port);
    expect(chosen).toBeGreaterThan(0);
    expect(busy.connections()).toBe(0);
    const free = await freePort();
    expect(await choosePort(free)).toBe(free);
  });

  it('finds redis-server on the given PATH only', () => {
    expect(findRedisServer(process.env.PATH)).toMatch(/redis-server$/);
    expect(findRedisServer('/nonexistent')).toBeUndefined();
    const dir = tempDir();
    const fake = join(dir, 'redis-server');
    writeFileSync(fake, '#!/bin/sh\n');
    chmodSync(fake, 0o644);
    expect(findRedisServer(dir)).toBeUndefined(); // not executable
  });

  it('starts on a busy preferred port by moving to a free one, and stops by its pid', async () => {
    const busy = await occupied();
    const events: RuntimeEvent[] = [];
    const dir = tempDir();
    const redis = await startEmbeddedRedis({
      stateDir: join(dir, '.rqctl'),
      preferredPort: busy.port,
      searchPath: process.env.PATH,
      log: (e) => events.push(e),
    });
    cleanups.push(() => redis.close());
    expect(redis.port).not.toBe(busy.port);
    expect(busy.connections()).toBe(0);
    expect(redis.adopted).toBe(false);
    expect(pidAlive(redis.pid)).toBe(true);
    await redis.close();
    expect(pidAlive(redis.pid)).toBe(false);
  });

  it('refuses a data directory still held by a live server it cannot reach', async () => {
    const dir = tempDir();
    const stateDir = join(dir, '.rqctl');
    const redis = await startEmbeddedRedis({ stateDir, preferredPort: 0, searchPath: process.env.PATH, log: () => {} });
    cleanups.push(() => redis.close());
    // Someone else changed the password file: the server no longer accepts ours.
    writeFileSync(join(stateDir, 'redis-password'), 'another-password\n');
    await expect(startEmbeddedRedis({ stateDir, preferredPort: 0, searchPath: process.env.PATH, log: () => {} })).rejects.toMatchObject({
      code: 'EMBEDDED_REDIS_BUSY',
      exitCode: 3,
    });
    expect(pidAlive(redis.pid)).toBe(true);
  });

  it('a redis-server that exits at start is reported with its log (exit 3)', async () => {
    const dir = tempDir();
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'redis-server'), '#!/bin/sh\necho "FATAL CONFIG FILE ERROR: broken on purpose" >&2\nexit 1\n');
    chmodSync(join(bin, 'redis-server'), 0o755);
    await expect(startEmbeddedRedis({ stateDir: join(dir, '.rqctl'), preferredPort: 0, searchPath: bin, log: () => {} })).rejects.toMatchObject({
      code: 'REDIS_SERVER_START',
      exitCode: 3,
      message: expect.stringContaining('broken on purpose'),
    });
  });
});
