import type { Config } from '../config/resolve.js';
import { ROLES, type Role } from '../config/endpoints.js';
import { usageError } from '../errors.js';
import { connectEndpoint, type RedisClient } from './connect.js';

/** `--role` for the inspection commands: one of queue, cache, session. */
export function parseRole(value: string | undefined, fallback: Role): Role {
  if (value === undefined) return fallback;
  if (!(ROLES as readonly string[]).includes(value)) throw usageError(`--role must be one of ${ROLES.join(', ')} (got "${value}")`);
  return value as Role;
}

/** Connects a role, optionally in another DB of the same server (`--db N`). */
export async function connectRoleDb(config: Config, role: Role, db?: number, connectionName = 'rqctl'): Promise<RedisClient> {
  const ep = config.roles[role];
  if (db !== undefined && ep.kind === 'cluster' && db !== 0) throw usageError(`--db ${db}: a Redis Cluster has only DB 0`);
  return connectEndpoint(db === undefined ? ep : { ...ep, db }, { timeoutMs: config.redis.connectTimeoutMs, connectionName });
}
