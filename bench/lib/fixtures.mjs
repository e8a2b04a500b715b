// Big fixtures built inside Redis, fast: failed jobs and millions of keys.

/**
 * Turns every waiting job of `queue` into a failed one, the way BullMQ leaves a job that failed its
 * last attempt (failedReason, stacktrace, attemptsMade, finishedOn, in the failed set). Run again
 * after a retry-all, it restores the fixture for the next round.
 */
const WAIT_TO_FAILED = `
local p = KEYS[1]
local ids = redis.call('LRANGE', p .. 'wait', 0, -1)
for _, id in ipairs(ids) do
  redis.call('HSET', p .. id, 'failedReason', ARGV[2], 'stacktrace', '["Error: ' .. ARGV[2] .. '"]', 'atm', '1', 'ats', '1', 'processedOn', ARGV[1], 'finishedOn', ARGV[1])
  redis.call('ZADD', p .. 'failed', ARGV[1], id)
end
redis.call('DEL', p .. 'wait', p .. 'marker')
return #ids`;

export async function waitToFailed(client, queue, reason = 'HTTP 500 from provider (bench)') {
  return Number(await client.eval(WAIT_TO_FAILED, 1, `bull:${queue}:`, String(Date.now() - 1000), reason));
}

/**
 * Turns every waiting job of `queue` into a completed one, the way BullMQ leaves a job a worker
 * finished (returnvalue, processedOn, finishedOn, attempts made, in the completed set), each
 * finished a millisecond after the one before, so the newest are the last added.
 */
const WAIT_TO_COMPLETED = `
local p = KEYS[1]
local ids = redis.call('LRANGE', p .. 'wait', 0, -1)
local t = tonumber(ARGV[1])
for i = #ids, 1, -1 do
  local id = ids[i]
  t = t + 1
  redis.call('HSET', p .. id, 'returnvalue', ARGV[2], 'atm', '1', 'ats', '1', 'processedOn', tostring(t - 1), 'finishedOn', tostring(t))
  redis.call('ZADD', p .. 'completed', t, id)
end
redis.call('DEL', p .. 'wait', p .. 'marker')
return #ids`;

export async function waitToCompleted(client, queue, returnvalue = '{"key":"stock_quote_0f3c","bytes":92}') {
  return Number(await client.eval(WAIT_TO_COMPLETED, 1, `bull:${queue}:`, String(Date.now() - 3_600_000), returnvalue));
}

/**
 * `n` string keys named `<prefix>:<i>` with small values (DEBUG POPULATE, a second per million;
 * the bench servers allow DEBUG from localhost). Keys that already exist are left as they are.
 */
export async function populate(client, n, prefix, size = 20) {
  await client.call('DEBUG', 'POPULATE', String(n), prefix, String(size));
}
