import type { Config } from '../config/resolve.js';
import type { RedisClient } from '../redis/connect.js';

/**
 * rqctl's own control keys for workers, in the QUEUE role (never the cache, which may be cleared or
 * evicted). All of them live under `<queue prefix>:rqctl:`, so on a Redis Cluster they share the
 * prefix's hash tag with the queues. The queue name `rqctl` is therefore reserved.
 *
 * - `<prefix>:rqctl:workers`        sorted set: worker id → last heartbeat (ms)
 * - `<prefix>:rqctl:workers:<id>`   JSON record of one live worker, with a TTL refreshed by its heartbeat
 * - `<prefix>:rqctl:restart`        `rqctl worker restart`'s timestamp (ms); workers that saw another
 *                                   value when they started finish their jobs and exit 0
 */

/** How often a worker refreshes its record, and how long the record lives without a refresh. */
export const HEARTBEAT_INTERVAL_MS = 10_000;
export const HEARTBEAT_TTL_S = 30;

export function workerKeys(config: Config): { index: string; record(id: string): string; restart: string } {
  const base = `${config.queue.prefix}:rqctl`;
  return { index: `${base}:workers`, record: (id) => `${base}:workers:${id}`, restart: `${base}:restart` };
}

/** One live worker process, as `rqctl workers` shows it. */
export interface WorkerRecord {
  id: string;
  name: string;
  host: string;
  pid: number;
  queues: string[];
  concurrency: number;
  /** ISO time the worker started. */
  started: string;
  /** Jobs that completed in this process. */
  jobsDone: number;
  /** Attempts that failed in this process (a retried job counts once per failed attempt). */
  jobsFailed: number;
  /** Jobs running right now. */
  running: number;
  /** ISO time of the last heartbeat. */
  lastSeen: string;
  /** ISO time a job last finished in this process (its start before the first): doctor's stuck-worker check. */
  progressAt?: string;
  version?: string;
}

export async function writeWorkerHeartbeat(config: Config, client: RedisClient, record: WorkerRecord): Promise<void> {
  const keys = workerKeys(config);
  const now = Date.now();
  await client
    .multi()
    .set(keys.record(record.id), JSON.stringify({ ...record, lastSeen: new Date(now).toISOString() }), 'EX', HEARTBEAT_TTL_S)
    .zadd(keys.index, now, record.id)
    .exec();
}

export async function removeWorkerHeartbeat(config: Config, client: RedisClient, id: string): Promise<void> {
  const keys = workerKeys(config);
  await client.multi().del(keys.record(id)).zrem(keys.index, id).exec();
}

/** Every worker with a live heartbeat, oldest first. Index entries whose record expired are pruned. */
export async function listWorkers(config: Config, client: RedisClient): Promise<WorkerRecord[]> {
  const keys = workerKeys(config);
  const ids = await client.zrange(keys.index, '0', '-1');
  if (!ids.length) return [];
  // One GET per id rather than MGET: on a cluster they share a slot anyway, and this stays simple.
  const values = await Promise.all(ids.map((id) => client.get(keys.record(id))));
  const live: WorkerRecord[] = [];
  const stale: string[] = [];
  values.forEach((v, i) => {
    if (v === null) {
      stale.push(ids[i]);
      return;
    }
    try {
      live.push(JSON.parse(v) as WorkerRecord);
    } catch {
      stale.push(ids[i]);
    }
  });
  // Only ids not refreshed for a whole TTL: a worker that is just writing its record stays.
  if (stale.length) await client.zremrangebyscore(keys.index, '-inf', String(Date.now() - HEARTBEAT_TTL_S * 1000)).catch(() => {});
  return live.sort((a, b) => a.started.localeCompare(b.started));
}

/** `rqctl worker restart`: records the time; running workers notice within a second or two. */
export async function requestRestart(config: Config, client: RedisClient): Promise<number> {
  const [seconds, micros] = (await client.call('TIME')) as [string, string];
  // Redis' clock, not this host's: every worker compares against the same source.
  const at = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  await client.set(workerKeys(config).restart, String(at));
  return at;
}

export async function readRestart(config: Config, client: RedisClient): Promise<string | null> {
  return client.get(workerKeys(config).restart);
}
