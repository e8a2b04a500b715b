import type { Job } from 'bullmq';
import type { RedisClient } from '../../redis/connect.js';
import type { EventLog } from '../events.js';

/** The fields every log line about one job carries. */
export function jobFields(job: Job, queue: string): { msg: string; queue: string; job: string; id: string | undefined } {
  return { msg: `${job.name} #${job.id}`, queue, job: job.name, id: job.id };
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

/** BullMQ's `error` events, each distinct message at most once every 30 s. */
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
