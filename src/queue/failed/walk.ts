import type { RedisClient } from '../../redis/connect.js';
import { walkState, type WalkPage } from '../walk/walk.js';

export { PAGE_SIZE } from '../walk/walk.js';

/**
 * Every page of one queue's failed set (newest first), hashes read in one pipeline per page: the
 * shared job walker (src/queue/walk) on the failed state. `until`/`since` bound the failure time (ms).
 */
export function walkFailed(
  client: RedisClient,
  prefix: string,
  queue: string,
  opts: { since?: number; until?: number; full?: boolean; pageSize?: number; readOnly?: boolean } = {},
): AsyncGenerator<WalkPage> {
  return walkState(client, prefix, queue, 'failed', opts);
}
