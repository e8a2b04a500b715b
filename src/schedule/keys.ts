/**
 * The scheduler's control keys, in the queue role (persistent and `noeviction`, unlike the cache) and
 * under the queue prefix, so two stacks sharing one Redis with different QUEUE_PREFIX never take each
 * other's locks. On a cluster the prefix carries a hash tag, so these keys share the queue's slot.
 *
 *   <prefix>:rqctl:schedule:tick:<entry>:<tickMs>[:<host>]   SET NX PX: who runs this tick (string)
 *   <prefix>:rqctl:schedule:running:<entry>[:<host>]         withoutOverlapping: held while a run lasts
 *   <prefix>:rqctl:schedule:last-run                         hash entry → JSON of the last command run
 *   <prefix>:rqctl:schedule:managed                          hash entry → queue: job schedulers rqctl made
 *   <prefix>:rqctl:scheduler:<id>                            heartbeat of one scheduler process (PX)
 *   <prefix>:rqctl:schedulers                                zset id → last beat: finds the heartbeats without SCAN
 *
 * `[:<host>]` is there for `onOneServer: false`: the entry then runs once per tick on every server.
 */
export interface ScheduleKeys {
  tick(entry: string, tickMs: number, host?: string): string;
  running(entry: string, host?: string): string;
  lastRun: string;
  managed: string;
  heartbeat(id: string): string;
  heartbeats: string;
}

export function scheduleKeys(queuePrefix: string): ScheduleKeys {
  const base = `${queuePrefix}:rqctl`;
  return {
    tick: (entry, tickMs, host) => `${base}:schedule:tick:${entry}:${tickMs}${host ? `:${host}` : ''}`,
    running: (entry, host) => `${base}:schedule:running:${entry}${host ? `:${host}` : ''}`,
    lastRun: `${base}:schedule:last-run`,
    managed: `${base}:schedule:managed`,
    heartbeat: (id) => `${base}:scheduler:${id}`,
    heartbeats: `${base}:schedulers`,
  };
}

/** Deletes a lock only if we still hold it (it may have expired and been taken by another process). */
export const RELEASE_LOCK_LUA = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;
