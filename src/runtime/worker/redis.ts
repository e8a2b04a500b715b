import type { Config } from '../../config/resolve.js';
import { ExitCode, RqctlError } from '../../errors.js';
import { closeClient, connectRole, createClient, type RedisClient } from '../../redis/connect.js';
import type { EventLog } from '../events.js';
import { readRestart } from '../worker-registry.js';
import { watchConnection } from './logging.js';

/** The worker's own clients: its control keys and the jobs' access to both roles (JobContext.redis). */
export interface WorkerRedis {
  queue: RedisClient;
  cache: RedisClient;
}

/**
 * Opens the worker's clients and reads the restart key's value at start (another value later means
 * `rqctl worker restart`). Nothing stays open when this throws.
 */
export async function connectWorker(config: Config, name: string, log: EventLog): Promise<{ redis: WorkerRedis; restartBaseline: string | null }> {
  // The control client (heartbeat, restart key, jobs' queue-role access) must reach Redis now: a
  // worker that cannot is misconfigured, and exit 3 tells supervisord's operator why.
  const queue = await connectRole(config, 'queue', { use: 'worker', connectionName: `rqctl:worker:${name}` });
  // The cache is only needed by jobs that write it: connect in the background, so a cache outage
  // does not stop e-mails from going out.
  const cache = createClient(config.roles.cache, { use: 'worker', timeoutMs: config.redis.connectTimeoutMs, connectionName: `rqctl:worker:${name}` });
  watchConnection(queue, 'queue', log);
  watchConnection(cache, 'cache', log);
  cache.connect().catch(() => {});
  const redis = { queue, cache };
  try {
    return { redis, restartBaseline: await readRestart(config, queue) };
  } catch (e) {
    await closeWorkerRedis(redis);
    throw new RqctlError('REDIS_ERROR', ExitCode.unreachable, `cannot read rqctl's control keys in the queue role: ${(e as Error).message}`, { cause: e });
  }
}

export async function closeWorkerRedis(redis: WorkerRedis): Promise<void> {
  await Promise.all([closeClient(redis.queue), closeClient(redis.cache)]);
}
