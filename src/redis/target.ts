import type { Config } from '../config/resolve.js';
import { ROLES, sameServer, type Role } from '../config/endpoints.js';
import { usageError } from '../errors.js';
import { closeClient, connectEndpoint, type RedisClient } from './connect.js';
import { isConnectionError, lostConnection } from './pipeline.js';

/** `--role` for the inspection commands: one of queue, cache, session. */
export function parseRole(value: string | undefined, fallback: Role): Role {
  if (value === undefined) return fallback;
  if (!(ROLES as readonly string[]).includes(value)) throw usageError(`--role must be one of ${ROLES.join(', ')} (got "${value}")`);
  return value as Role;
}

/**
 * The roles grouped by the server they live on, in the order given: what reads a server-wide figure
 * (INFO, MONITOR) does it once per group, through the group's first role.
 */
export function groupByServer(config: Config, roles: readonly Role[]): Role[][] {
  const groups: Role[][] = [];
  for (const role of roles) {
    const g = groups.find((x) => sameServer(config.roles[x[0]], config.roles[role]));
    if (g) g.push(role);
    else groups.push([role]);
  }
  return groups;
}

/** Connects a role, optionally in another DB of the same server (`--db N`). */
export async function connectRoleDb(config: Config, role: Role, db?: number, connectionName = 'rqctl'): Promise<RedisClient> {
  const ep = config.roles[role];
  if (db !== undefined && ep.kind === 'cluster' && db !== 0) throw usageError(`--db ${db}: a Redis Cluster has only DB 0`);
  return connectEndpoint(db === undefined ? ep : { ...ep, db }, { timeoutMs: config.redis.connectTimeoutMs, connectionName });
}

/**
 * `withRoles` for the inspection commands' `--db N`: one connection to the role's server in that DB
 * (the role's own DB without it), closed when `fn` returns. A connection lost midway is exit 3.
 */
export async function withRoleDb<T>(
  config: Config,
  role: Role,
  db: number | undefined,
  fn: (client: RedisClient) => Promise<T>,
  connectionName = 'rqctl',
): Promise<T> {
  const client = await connectRoleDb(config, role, db, connectionName);
  try {
    return await fn(client);
  } catch (e) {
    if (isConnectionError(e)) throw lostConnection(e);
    throw e;
  } finally {
    await closeClient(client);
  }
}
