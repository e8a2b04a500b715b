import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { resolveConfig, type Config } from '../../src/config/resolve.js';

/** A unique queue prefix: tests on the shared servers never touch each other's keys. */
export function uniquePrefix(tag: string): string {
  return `t-${tag}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A temp working directory holding an rqctl.config.yaml with this schedule. */
export function scheduleDir(schedule: unknown[] | undefined): string {
  const cwd = mkdtempSync(join(tmpdir(), 'rqctl-sched-'));
  if (schedule) writeFileSync(join(cwd, 'rqctl.config.yaml'), stringify({ schedule }));
  return cwd;
}

export function scheduleConfig(schedule: unknown[], env: Record<string, string>): { config: Config; cwd: string } {
  const cwd = scheduleDir(schedule);
  return { config: resolveConfig({ env, cwd }), cwd };
}

export function redisClient(url: string): Redis {
  const c = new Redis(url, { maxRetriesPerRequest: 1 });
  c.on('error', () => {});
  return c;
}

/** Every key under a prefix (SCAN). */
export async function keysUnder(client: Redis, prefix: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    out.push(...keys);
  } while (cursor !== '0');
  return out.sort();
}

/** Deletes the keys this test created (its own prefix only). */
export async function dropPrefix(client: Redis, prefix: string): Promise<void> {
  const keys = await keysUnder(client, prefix);
  if (keys.length) await client.del(...keys);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
