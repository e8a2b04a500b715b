import { createRequire } from 'node:module';
import type { RedisClient } from '../../redis/connect.js';
import { stateKey, stateLayout, type JobState } from '../walk/states.js';

/**
 * Removing a job only while it is still in the state it was found in. BullMQ's removeJob script
 * removes a job from whatever state it is in (unless a worker holds its lock), so a delayed job that
 * came due and completed while `jobs find --state delayed --remove` walked would go too. This runs
 * BullMQ's own removeJob script (the text BullMQ ships, so its bookkeeping — logs, flow links,
 * deduplication keys, events — stays BullMQ's) behind a check, in the same script call: atomic.
 *
 *   sorted-set states: the id must still be in that set;
 *   waiting (a list): the id must be in none of the queue's sorted sets and not in `active` (looking
 *   the id up in a long wait list would make Redis scan it on every call).
 *
 * Returns BullMQ's codes: 1 removed, 0 locked by a worker, -8 a job scheduler's job; and -1 gone,
 * -3 no longer in that state (as BullMQ's own "not in state" code).
 */
const GUARD = `
if redis.call("EXISTS", KEYS[1]) == 0 then return -1 end
if ARGV[4] == "set" then
  if not redis.call("ZSCORE", KEYS[3], ARGV[1]) then return -3 end
else
  for _, s in ipairs({"completed", "failed", "delayed", "prioritized", "waiting-children"}) do
    if redis.call("ZSCORE", ARGV[3] .. s, ARGV[1]) then return -3 end
  end
  if redis.call("LPOS", ARGV[3] .. "active", ARGV[1]) then return -3 end
end
`;

const COMMAND = 'rqctlRemoveJobInState';

type WithCommand = RedisClient & { [COMMAND](...args: (string | number)[]): Promise<number> };

function defineOnce(client: RedisClient): WithCommand {
  const c = client as WithCommand;
  if (typeof c[COMMAND] !== 'function') {
    // BullMQ's scripts as it loads them (its Lua with the includes already in place); pinned with BullMQ's version.
    const require = createRequire(import.meta.url);
    const { removeJob } = require('bullmq/dist/cjs/scripts/removeJob-2.js') as { removeJob: { content: string; keys: number } };
    if (removeJob.keys !== 2)
      throw new Error(`BullMQ's removeJob script takes ${removeJob.keys} keys, rqctl expects 2: update src/queue/find/remove-in-state.ts`);
    client.defineCommand(COMMAND, { numberOfKeys: 3, lua: `${GUARD}\n${removeJob.content}` });
  }
  return c;
}

/** Removes each job if it is still in `state`; one script call per job, all in flight at once. Returns each job's code. */
export function removeInState(client: RedisClient, prefix: string, queue: string, state: JobState, ids: readonly string[]): Promise<number[]> {
  const c = defineOnce(client);
  const layout = stateLayout(state);
  const setKey = stateKey(prefix, queue, layout.keys[0]);
  const queuePrefix = `${prefix}:${queue}:`;
  // removeChildren = 1: BullMQ's default (`Queue.remove`); a flow parent takes its unprocessed children with it.
  return Promise.all(
    ids.map((id) => c[COMMAND](`${queuePrefix}${id}`, `${queuePrefix}repeat`, setKey, id, 1, queuePrefix, layout.kind === 'zset' ? 'set' : 'list')),
  );
}
