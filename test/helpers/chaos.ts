import { spawnSync } from 'node:child_process';
import type { Redis } from 'ioredis';
import { BIN, cleanEnv } from './cli.js';
import type { RedisServer } from './redis-server.js';

/**
 * A fingerprint of everything a server holds, every DB (DEBUG DIGEST; the server must run with
 * `--enable-debug-command local`). Equal digests before and after = nothing changed anywhere.
 */
export async function digest(server: RedisServer): Promise<string> {
  const c = server.client();
  try {
    return String(await c.call('DEBUG', 'DIGEST'));
  } finally {
    c.disconnect();
  }
}

/** Polls until `check` returns a truthy value; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T> | T, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const commandCache = new Map<string, boolean>();

/** Whether `rqctl <words…>` is a registered command of the built CLI. */
export function hasCommand(...words: string[]): boolean {
  const k = words.join(' ');
  if (!commandCache.has(k)) {
    const r = spawnSync(process.execPath, [BIN, ...words, '--help'], { env: cleanEnv(), encoding: 'utf8' });
    commandCache.set(k, r.status === 0 && r.stdout.includes(`Usage: rqctl ${k}`));
  }
  return commandCache.get(k)!;
}

/** Runs `tasks` with at most `limit` at a time. */
export async function pool<T>(limit: number, tasks: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, tasks.length) }, async () => {
      for (let i = next++; i < tasks.length; i = next++) results[i] = await tasks[i]();
    }),
  );
  return results;
}

/** Every key of one DB with SCAN (tests only; small DBs). */
export async function allKeys(c: Redis): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await c.scan(cursor, 'COUNT', 1000);
    cursor = next;
    out.push(...keys);
  } while (cursor !== '0');
  return out.sort();
}
