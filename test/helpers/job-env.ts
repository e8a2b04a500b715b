import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { resolveConfig, type Config } from '../../src/config/resolve.js';

/**
 * An isolated environment for job tests on a shared redis-server: a unique queue prefix and cache
 * prefix, so nothing another test file does is touched, and everything this one wrote can be removed.
 */
export interface JobEnv {
  id: string;
  /** Environment variables for the CLI (runCli) and for resolveConfig. */
  env: Record<string, string>;
  /** A working directory holding rqctl.config.yaml when `file` was given. */
  cwd: string;
  config: Config;
  queueDb: Redis;
  cacheDb: Redis;
  cleanup(): Promise<void>;
}

export function uniqueId(label: string): string {
  return `${label}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

export async function jobEnv(
  redisUrl: string,
  options: { label?: string; env?: Record<string, string>; file?: Record<string, unknown> } = {},
): Promise<JobEnv> {
  const id = uniqueId(options.label ?? 't');
  const env: Record<string, string> = { REDIS_URL: redisUrl, QUEUE_PREFIX: `rq-${id}`, CACHE_PREFIX: `${id}:`, ...options.env };
  const cwd = mkdtempSync(join(tmpdir(), 'rqctl-jobs-'));
  if (options.file) writeFileSync(join(cwd, 'rqctl.config.yaml'), stringify(options.file));
  const config = resolveConfig({ env, cwd });
  const u = new URL(redisUrl);
  const mk = (db: number) => {
    const c = new Redis({
      host: u.hostname,
      port: Number(u.port),
      password: u.password ? decodeURIComponent(u.password) : undefined,
      db,
      maxRetriesPerRequest: 1,
    });
    c.on('error', () => {});
    return c;
  };
  const queueDb = mk(config.roles.queue.db);
  const cacheDb = mk(config.roles.cache.db);
  const deleteMatching = async (client: Redis, pattern: string) => {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await client.unlink(...keys);
    } while (cursor !== '0');
  };
  return {
    id,
    env,
    cwd,
    config,
    queueDb,
    cacheDb,
    async cleanup() {
      await deleteMatching(queueDb, `rq-${id}:*`);
      await deleteMatching(cacheDb, `${id}:*`);
      queueDb.disconnect();
      cacheDb.disconnect();
    },
  };
}
