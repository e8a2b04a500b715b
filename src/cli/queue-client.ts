import type { CommandContext } from './context.js';
import type { Config } from '../config/resolve.js';
import type { RedisClient } from '../redis/connect.js';

/**
 * Runs a command body with a one-shot connection to the queue role, always closed afterwards. A
 * connection lost midway (Redis restarted, network cut) is reported as such (exit 3), not as an
 * internal error.
 */
export async function withQueueClient<T>(ctx: CommandContext, fn: (client: RedisClient, config: Config) => Promise<T>): Promise<T> {
  const config = await ctx.config();
  const [{ withRoles }, { isConnectionError, lostConnection }] = await Promise.all([import('../redis/connect.js'), import('../redis/pipeline.js')]);
  try {
    return await withRoles(config, ['queue'], ({ queue }) => fn(queue, config));
  } catch (e) {
    if (isConnectionError(e)) throw lostConnection(e);
    throw e;
  }
}
