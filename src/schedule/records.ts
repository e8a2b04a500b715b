import type { RedisClient } from '../redis/connect.js';
import type { ScheduleKeys } from './keys.js';

/** The last run of a command entry, as recorded in the queue role (`schedule list`, `doctor`). */
export interface CommandRunRecord {
  entry: string;
  /** The tick this run belongs to (ISO, UTC). */
  tick: string;
  status: 'running' | 'ok' | 'failed' | 'timed-out' | 'error';
  startedAt: string;
  finishedAt?: string;
  durationMs?: number;
  exitCode?: number | null;
  signal?: string | null;
  /** Why it could not run or what went wrong, in one line. */
  error?: string;
  host: string;
  pid: number;
}

export async function recordRun(client: RedisClient, keys: ScheduleKeys, run: CommandRunRecord): Promise<void> {
  await client.hset(keys.lastRun, run.entry, JSON.stringify(run));
}

export async function readLastRuns(client: RedisClient, keys: ScheduleKeys): Promise<Map<string, CommandRunRecord>> {
  const raw = await client.hgetall(keys.lastRun);
  const out = new Map<string, CommandRunRecord>();
  for (const [entry, json] of Object.entries(raw)) {
    try {
      out.set(entry, JSON.parse(json) as CommandRunRecord);
    } catch {
      /* a value someone else wrote: not ours to interpret */
    }
  }
  return out;
}

/** One live scheduler process, from its heartbeat. */
export interface SchedulerBeat {
  id: string;
  host: string;
  pid: number;
  startedAt: string;
  /** When it last wrote its heartbeat (epoch ms). */
  beatAt: number;
  mode: 'daemon' | 'once';
  entries: number;
}

export async function writeSchedulerHeartbeat(client: RedisClient, keys: ScheduleKeys, beat: SchedulerBeat, ttlMs: number): Promise<void> {
  await client
    .multi()
    .set(keys.heartbeat(beat.id), JSON.stringify(beat), 'PX', ttlMs)
    .zadd(keys.heartbeats, beat.beatAt, beat.id)
    // Members whose heartbeat has long expired: keep the index small.
    .zremrangebyscore(keys.heartbeats, '-inf', beat.beatAt - 86_400_000)
    .pexpire(keys.heartbeats, 7 * 86_400_000)
    .exec();
}

export async function removeSchedulerHeartbeat(client: RedisClient, keys: ScheduleKeys, id: string): Promise<void> {
  await client.multi().del(keys.heartbeat(id)).zrem(keys.heartbeats, id).exec();
}

/** Scheduler processes whose heartbeat key still exists. */
export async function liveSchedulers(client: RedisClient, keys: ScheduleKeys): Promise<SchedulerBeat[]> {
  const ids = await client.zrange(keys.heartbeats, '0', '-1');
  if (ids.length === 0) return [];
  // One GET per id, not MGET: on a cluster each key may live on its own slot.
  const values = await Promise.all(ids.map((id) => client.get(keys.heartbeat(id))));
  const out: SchedulerBeat[] = [];
  for (const v of values) {
    if (!v) continue;
    try {
      out.push(JSON.parse(v) as SchedulerBeat);
    } catch {
      /* ignore */
    }
  }
  return out;
}
