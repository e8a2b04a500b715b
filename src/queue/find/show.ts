import type { Config } from '../../config/resolve.js';
import { ExitCode, RqctlError } from '../../errors.js';
import type { RedisClient } from '../../redis/connect.js';
import { execPipeline } from '../../redis/pipeline.js';
import { resolveQueues } from '../discover.js';
import { jobDetail, type JobDetail } from '../walk/detail.js';
import { jobKey, readJobs } from '../walk/job-hash.js';
import { JOB_STATES, stateKey, stateLayout, type JobState } from '../walk/states.js';

/**
 * `jobs show <id>`: one job in any state — what `failed show` shows, plus its state and return value.
 * Ids are unique per queue only: without --queue every queue is searched, and an id in two queues is
 * an error listing both (exit 2), as for `failed show`.
 */
export async function showJob(config: Config, client: RedisClient, id: string, queuesAsked?: readonly string[], logLines = 50): Promise<JobDetail> {
  const prefix = config.queue.prefix;
  const queue = await locateJob(client, prefix, await resolveQueues(config, client, queuesAsked), id);
  const [[read], state, logs, logCount] = await Promise.all([
    readJobs(client, prefix, queue, [id], true),
    stateOf(client, prefix, queue, id),
    client.lrange(`${jobKey(prefix, queue, id)}:logs`, -logLines, -1),
    client.llen(`${jobKey(prefix, queue, id)}:logs`),
  ]);
  return { ...jobDetail(queue, id, state, read.result, read.raw), logs, logCount };
}

/**
 * The queue whose job hash has this id. A key that is not a job hash (a queue's own keys, such as
 * `meta`, or a job's `:logs`) has neither a name nor a timestamp, and is not a job.
 */
async function locateJob(client: RedisClient, prefix: string, queues: readonly string[], id: string): Promise<string> {
  const pipe = client.pipeline();
  for (const q of queues) pipe.hmget(jobKey(prefix, q, id), 'name', 'timestamp');
  const replies = await execPipeline(pipe);
  const found = queues.filter((_, i) => {
    const [err, value] = replies[i] ?? [];
    return !err && Array.isArray(value) && value.some((v) => v !== null);
  });
  if (found.length === 1) return found[0];
  if (found.length > 1) {
    throw new RqctlError('JOB_AMBIGUOUS', ExitCode.usage, `job id ${id} found in more than one queue: ${found.join(', ')}`, {
      hint: `job ids are unique per queue only: add --queue ${found[0]} (or another of the queues listed)`,
      details: { ambiguous: [{ id, queues: found }] },
    });
  }
  throw new RqctlError('JOB_NOT_FOUND', ExitCode.usage, `no job ${id} in ${queues.length === 1 ? `queue ${queues[0]}` : `queues ${queues.join(', ')}`}`, {
    hint: 'completed and failed jobs are kept for a while only (queue.keepCompleted, queue.keepFailed); `rqctl jobs find` searches by payload',
    details: { missing: [id] },
  });
}

/**
 * Which state's key holds the id: the sorted sets first (one lookup each), then the lists — `active`
 * is short, and a long wait list is only scanned for a job that is in no other state.
 */
async function stateOf(client: RedisClient, prefix: string, queue: string, id: string): Promise<JobState | 'unknown'> {
  const zsets = JOB_STATES.filter((s) => stateLayout(s).kind === 'zset');
  const pipe = client.pipeline();
  for (const s of zsets) pipe.zscore(stateKey(prefix, queue, stateLayout(s).keys[0]), id);
  const scores = await execPipeline(pipe);
  const inSet = zsets.find((_, i) => scores[i]?.[1] !== null && scores[i]?.[1] !== undefined && !scores[i]?.[0]);
  if (inSet) return inSet;
  for (const s of ['active', 'waiting'] as const) {
    for (const name of stateLayout(s).keys) {
      if ((await client.lpos(stateKey(prefix, queue, name), id)) !== null) return s;
    }
  }
  return 'unknown';
}
