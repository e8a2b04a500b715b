import { cacheStats } from '../../cache/stats.js';
import type { Config } from '../../config/resolve.js';
import { ROLES } from '../../config/endpoints.js';
import { checkGroups, type CheckResult } from '../../doctor/index.js';
import type { RedisClient } from '../../redis/connect.js';
import { listSchedule } from '../../schedule/list.js';
import type { DashboardRedis } from '../redis.js';
import type { CacheView, DoctorCheckView, ScheduleEntryView } from './types.js';

/**
 * The parts of the overview that cost more than a refresh should (see Refreshing): the schedule with
 * its last runs, the cache's keys per family (a SCAN), and doctor's checks.
 */

export async function readSchedule(config: Config, client: RedisClient | undefined, now: number): Promise<ScheduleEntryView[]> {
  const entries = await listSchedule(config, { count: 1, client, now });
  return entries.map((e) => ({
    name: e.name,
    kind: e.kind,
    schedule: e.cron ?? `every ${e.every}`,
    timezone: e.timezone,
    target: e.target,
    queue: e.queue ?? null,
    next: e.next[0] ?? null,
    lastRun: e.lastRun ? { at: e.lastRun.at, status: e.lastRun.status, durationMs: e.lastRun.durationMs ?? null, error: e.lastRun.error ?? null } : null,
    synced: e.synced ?? null,
  }));
}

export async function readCache(config: Config, client: RedisClient): Promise<CacheView> {
  const s = await cacheStats(client, config);
  return {
    prefix: s.prefix,
    totalKeys: s.totalKeys,
    keysWithoutTtl: s.keysWithoutTtl,
    families: s.families,
    hitRatio: s.hitRatio,
    evictedKeys: s.evictedKeys,
    usedMemory: s.usedMemory,
    maxmemory: s.maxmemory,
    maxmemoryPolicy: s.maxmemoryPolicy,
  };
}

/** `rqctl doctor`'s checks on the dashboard's own connections (none opened per run). */
export async function readDoctor(config: Config, redis: DashboardRedis, now: number): Promise<DoctorCheckView[]> {
  const checks: CheckResult[] = ROLES.map((role) => {
    const problem = redis.problem(role);
    return problem === null
      ? { id: `${role}.reachable`, status: 'ok', message: `${role} role: ${config.roles[role].display} reachable` }
      : { id: `${role}.reachable`, status: 'fail', message: `${role} role: ${problem}` };
  });
  const clients = redis.readyClients();
  if (Object.keys(clients).length > 0) {
    for (const group of checkGroups) checks.push(...(await group({ config, clients, now })));
  }
  return checks.map((c) => ({ id: c.id, status: c.status, message: c.message, fix: c.fix || null }));
}
