import type { Role } from '../config/endpoints.js';

/**
 * Facts about a Redis server that both `rqctl doctor` (reading a live server) and `rqctl config
 * validate` (reading files) judge. One place, so the two never disagree.
 *
 * maxmemory-policy is per server, not per DB: with allkeys-lru on a server that also holds the queue,
 * a full cache silently evicts queued jobs (seen: 300 waiting jobs to 0) and sessions. BullMQ's
 * production guide calls noeviction the only correct setting for its data.
 */
export const NO_EVICTION_ROLES: readonly Role[] = ['queue', 'session'];

/** The roles on this server that eviction would destroy, given its policy (empty: fine). */
export function rolesAtRiskOfEviction(roles: readonly Role[], policy: string | undefined): Role[] {
  const p = (policy ?? 'noeviction').toLowerCase();
  if (p === 'noeviction') return [];
  return roles.filter((r) => NO_EVICTION_ROLES.includes(r));
}

export function evictionProblem(where: string, atRisk: readonly Role[], policy: string): string {
  const roles = atRisk.length > 1 ? `${atRisk.join(' and ')} roles` : `${atRisk[0]} role`;
  const victims = atRisk.includes('queue') ? `queued jobs${atRisk.includes('session') ? ' and sessions' : ''}` : 'sessions';
  return `${where} holds the ${roles} with maxmemory-policy ${policy}: when memory fills, Redis evicts ${victims}`;
}

/** The second half of every eviction fix: where the cache's LRU belongs instead. */
export const EVICTION_FIX = 'give the cache its own server with allkeys-lru (`rqctl config generate` writes that split topology)';

/** A server holding the queue without AOF loses every job queued since the last snapshot on a crash. */
export function needsAppendOnly(roles: readonly Role[]): boolean {
  return roles.includes('queue');
}

export const PERSISTENCE_FIX = 'set `appendonly yes` and `appendfsync everysec`';

/** Container memory must exceed maxmemory by this factor: fork for AOF rewrite/RDB, buffers, fragmentation. */
export const MEMORY_HEADROOM = 1.25;

/** The commands that wipe a whole DB or server; production disables them (rename-command … "") or denies them by ACL. */
export const WIPE_COMMANDS = ['FLUSHDB', 'FLUSHALL'] as const;
