import type { RedisClient } from '../redis/connect.js';
import type { EventLog } from './events.js';

/** Helpers of the worker runtime (src/runtime/worker.ts). */

/** The process-wide concurrency limit shared by a worker's queues: FIFO, so no queue starves. */
export class Slots {
  private free: number;
  private readonly waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  constructor(size: number) {
    this.free = size;
  }
  acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }
  release(): void {
    const next = this.waiters.shift();
    if (next) next.resolve();
    else this.free++;
  }
  /** Jobs still waiting for a slot go back to their queue. */
  cancelWaiters(): void {
    for (const w of this.waiters.splice(0)) w.reject(new Error('stopping'));
  }
}

/** zod-like issues as `path: message; …`. */
export function formatIssues(error: unknown): string {
  const issues = (error as { issues?: { path?: PropertyKey[]; message: string }[] })?.issues;
  if (!Array.isArray(issues) || !issues.length) return String((error as Error)?.message ?? error);
  return issues.map((i) => `${i.path && i.path.length ? i.path.map(String).join('.') : '(payload)'}: ${i.message}`).join('; ');
}

export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), ms)))]).finally(() => clearTimeout(timer));
}

/** Reports a lost connection once and its recovery once, instead of one line per retry. */
export function watchConnection(client: RedisClient, role: string, log: EventLog): void {
  let down = false;
  client.on('error', (e: Error) => {
    if (down) return;
    down = true;
    log({ level: 'warn', event: 'redis-down', role, error: e.message, msg: `lost the ${role} role's connection; reconnecting` });
  });
  client.on('ready', () => {
    if (!down) return;
    down = false;
    log({ event: 'redis-up', role, msg: `${role} role reconnected` });
  });
}

export function throttledErrorLog(log: EventLog, queue: string): (e: Error) => void {
  const last = new Map<string, number>();
  return (e) => {
    const key = e?.message ?? String(e);
    const now = Date.now();
    if ((last.get(key) ?? 0) > now - 30_000) return;
    last.set(key, now);
    log({ level: 'warn', event: 'worker-error', queue, error: key });
  };
}
