import type { CommandContext } from './context.js';
import type { Config } from '../config/resolve.js';
import type { Role } from '../config/endpoints.js';
import type { ConnectOptions, RedisClient } from '../redis/connect.js';

/**
 * The one way a one-shot command gets Redis: the resolved config, a connection per role it names,
 * all closed when `fn` returns. A connection lost midway is exit 3 ("lost the connection to Redis"),
 * see `withRoles`. The Redis modules load only when a command runs, never for `--help`.
 */
export async function withRoleClients<R extends Role, T>(
  ctx: CommandContext,
  roles: readonly R[],
  fn: (clients: Record<R, RedisClient>, config: Config) => Promise<T>,
  options: ConnectOptions = {},
): Promise<T> {
  const config = await ctx.config();
  const { withRoles } = await import('../redis/connect.js');
  return withRoles(config, roles, (clients) => fn(clients, config), options);
}

/** `withRoleClients` for the commands that only need the queue role. */
export function withQueueClient<T>(ctx: CommandContext, fn: (client: RedisClient, config: Config) => Promise<T>): Promise<T> {
  return withRoleClients(ctx, ['queue'], (c, config) => fn(c.queue, config));
}

/** `withRoleClients` for one role in another DB of its server (`keys --db N`; the role's own DB without it). */
export async function withRoleDbClient<T>(
  ctx: CommandContext,
  role: Role,
  db: number | undefined,
  fn: (client: RedisClient, config: Config) => Promise<T>,
  connectionName?: string,
): Promise<T> {
  const config = await ctx.config();
  const { withRoleDb } = await import('../redis/target.js');
  return withRoleDb(config, role, db, (client) => fn(client, config), connectionName);
}
