import type { Redis } from 'ioredis';
import type { Config } from '../config/resolve.js';
import { sameServer, type Role } from '../config/endpoints.js';
import { parseInfo } from './info.js';
import { closeClient, connectRole, type RedisClient } from './connect.js';

/**
 * "Do these two roles keep their keys in the same DB of the same server?" asked of the servers, not
 * of the config's text: `localhost` and `127.0.0.1`, an IP and a DNS name, a URL and a Sentinel
 * master may all be one server. Guards that refuse to delete another role's keys (cache clear,
 * doctor's view of the cache) rely on the answer.
 *
 * A server is identified by INFO server's `run_id` (random, new at every start), the DB by the index
 * each connection selected (connectEndpoint confirms it). When the config's text already says "same
 * server", that is believed without asking: the text can only err towards "different".
 */
export type Sharing = 'same' | 'different' | 'unknown';

/** INFO server's run_id of the server a client talks to, or undefined (INFO denied, a cluster). */
export async function serverRunId(client: RedisClient): Promise<string | undefined> {
  if ((client as { isCluster?: boolean }).isCluster) return undefined;
  try {
    return parseInfo(String(await (client as Redis).info('server'))).run_id || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether `other` keeps its keys in the same DB and server as `role`, whose client is open. Without
 * `otherClient`, `other` is connected for the question (briefly) when the text cannot tell; a role
 * that does not answer is `unknown`.
 */
export async function sharesDatabase(config: Config, role: Role, client: RedisClient, other: Role, otherClient?: RedisClient): Promise<Sharing> {
  const a = config.roles[role];
  const b = config.roles[other];
  // A cluster has only DB 0 and its nodes are named by the cluster itself: the text decides.
  if (a.kind === 'cluster' || b.kind === 'cluster') return sameServer(a, b) ? 'same' : 'different';
  if (a.db !== b.db) return 'different';
  if (sameServer(a, b)) return 'same';
  let opened: RedisClient | undefined;
  try {
    if (!otherClient) {
      opened = await connectRole(config, other, { connectTimeoutMs: Math.min(config.redis.connectTimeoutMs, 3000), connectionName: 'rqctl-same-server' }).catch(
        () => undefined,
      );
    }
    const theirs = otherClient ?? opened;
    if (!theirs) return 'unknown';
    const [mine, their] = await Promise.all([serverRunId(client), serverRunId(theirs)]);
    if (mine === undefined || their === undefined) return 'unknown';
    return mine === their ? 'same' : 'different';
  } finally {
    await closeClient(opened);
  }
}
