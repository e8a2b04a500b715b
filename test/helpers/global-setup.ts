import type { TestProject } from 'vitest/node';
import { RedisServer } from './redis-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** No password, noeviction: the everyday server. */
    plainRedisUrl: string;
    /** requirepass, FLUSHDB/FLUSHALL renamed away, AOF on, noeviction: like production. */
    hardenedRedisUrl: string;
    hardenedRedisPassword: string;
    /** allkeys-lru with a maxmemory: the old stack's single server. */
    lruRedisUrl: string;
  }
}

/**
 * Starts the shared redis-servers once per run, on 127.0.0.1 and free ports, and stops them by PID.
 * Tests isolate themselves by queue name or key prefix; tests that need a server of their own
 * (kill -9, restarts) start one with RedisServer.start().
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const password = `test-${Math.random().toString(36).slice(2)}`;
  const started = await Promise.allSettled([
    RedisServer.start({ args: ['--maxmemory-policy', 'noeviction'] }),
    RedisServer.start({
      password,
      args: [
        '--maxmemory-policy',
        'noeviction',
        '--maxmemory',
        '256mb',
        '--appendonly',
        'yes',
        '--rename-command',
        'FLUSHDB',
        '',
        '--rename-command',
        'FLUSHALL',
        '',
      ],
    }),
    RedisServer.start({ args: ['--maxmemory', '256mb', '--maxmemory-policy', 'allkeys-lru'] }),
  ]);
  const servers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.all(servers.map((s) => s.stop()));
    throw failed.reason;
  }
  const [plain, hardened, lru] = servers;
  project.provide('plainRedisUrl', plain.url());
  project.provide('hardenedRedisUrl', hardened.url());
  project.provide('hardenedRedisPassword', password);
  project.provide('lruRedisUrl', lru.url());
  return async () => {
    await Promise.all([plain.stop(), hardened.stop(), lru.stop()]);
  };
}
