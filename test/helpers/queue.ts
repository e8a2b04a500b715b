import { Queue, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { resolve } from 'node:path';
import { ROOT } from './cli.js';

/** The job types the worker tests use, loaded like an operator's own (RQCTL_EXTRA_JOBS). */
export const TEST_JOBS = resolve(ROOT, 'test/fixtures/jobs/worker-test-jobs.mjs');

/** A unique key prefix, so a test's queues, worker registry and restart key are its own. */
export function uniquePrefix(tag: string): string {
  return `t-${tag}-${Math.random().toString(36).slice(2, 8)}`;
}

function connection(url: string) {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: Number(u.port),
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db: Number(u.pathname.slice(1) || 0),
    maxRetriesPerRequest: null,
  };
}

/** A BullMQ producer on the test's prefix: jobs are added the way any application adds them. */
export function testQueue(url: string, prefix: string, name: string): Queue {
  return new Queue(name, { connection: connection(url), prefix });
}

export async function addJob(url: string, prefix: string, queue: string, name: string, data: unknown, opts: JobsOptions = {}): Promise<string> {
  const q = testQueue(url, prefix, queue);
  try {
    const job = await q.add(name, data, opts);
    return job.id!;
  } finally {
    await q.close();
  }
}

/** Removes every key under the prefix (only the test's own keys). */
export async function removePrefix(url: string, prefix: string): Promise<void> {
  const c = new Redis(connection(url));
  try {
    let cursor = '0';
    do {
      const [next, keys] = await c.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await c.del(...keys);
    } while (cursor !== '0');
  } finally {
    c.disconnect();
  }
}

/** Polls until `fn` returns a truthy value (or throws after timeoutMs). */
export async function eventually<T>(fn: () => Promise<T | undefined | false | null>, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** True while a process with this pid exists. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
