import type { Config } from '../../config/resolve.js';
import { ExitCode, RqctlError } from '../../errors.js';
import type { RedisClient } from '../../redis/connect.js';
import { execPipeline } from '../../redis/pipeline.js';
import { resolveQueues } from '../queues.js';
import { failedKey, jobKey } from '../walk/job-hash.js';

/** A failed job id and the queue whose failed set holds it. */
export interface Located {
  id: string;
  queue: string;
}

/**
 * Finds which queue's failed set holds each id. BullMQ ids are unique per queue only (every queue
 * counts 1, 2, 3…), so without --queue an id in two failed sets is ambiguous: an error listing both,
 * and nothing is done. An id that is in no failed set is an error too (exit 2), saying where it is
 * when it exists in another state. All ids are checked before anything changes.
 */
export async function locateFailed(config: Config, client: RedisClient, ids: readonly string[], queuesAsked?: readonly string[]): Promise<Located[]> {
  const unique = [...new Set(ids)];
  const queues = await resolveQueues(config, client, queuesAsked);
  const prefix = config.queue.prefix;
  const pipe = client.pipeline();
  for (const id of unique) for (const q of queues) pipe.zscore(failedKey(prefix, q), id);
  const replies = await execPipeline(pipe);
  const located: Located[] = [];
  const missing: string[] = [];
  const ambiguous: { id: string; queues: string[] }[] = [];
  unique.forEach((id, i) => {
    const inQueues = queues.filter((_, j) => {
      const [err, score] = replies[i * queues.length + j] ?? [];
      return !err && score !== null && score !== undefined;
    });
    if (inQueues.length === 1) located.push({ id, queue: inQueues[0] });
    else if (inQueues.length === 0) missing.push(id);
    else ambiguous.push({ id, queues: inQueues });
  });
  if (ambiguous.length) {
    const list = ambiguous.map((a) => `${a.id} (in ${a.queues.join(', ')})`).join('; ');
    throw new RqctlError('JOB_AMBIGUOUS', ExitCode.usage, `failed job id${ambiguous.length > 1 ? 's' : ''} found in more than one queue: ${list}`, {
      hint: `job ids are unique per queue only: add --queue ${ambiguous[0].queues[0]} (or another of the queues listed)`,
      details: { ambiguous },
    });
  }
  if (missing.length) throw await notFailed(client, prefix, queues, missing);
  return located;
}

/** "not failed" reads better than "not found" when a missing id exists in another state: say where. */
async function notFailed(client: RedisClient, prefix: string, queues: string[], missing: string[]): Promise<RqctlError> {
  const where = client.pipeline();
  for (const id of missing) for (const q of queues) where.exists(jobKey(prefix, q, id));
  const ex = await execPipeline(where);
  const notes = missing.map((id, i) => {
    const qs = queues.filter((_, j) => (ex[i * queues.length + j]?.[1] as number) === 1);
    return qs.length ? `${id} (exists in ${qs.join(', ')} but is not failed)` : id;
  });
  return new RqctlError(
    'JOB_NOT_FOUND',
    ExitCode.usage,
    `no failed job ${notes.join(', ')} in ${queues.length === 1 ? `queue ${queues[0]}` : `queues ${queues.join(', ')}`}`,
    {
      hint: '`rqctl failed list` shows the failed jobs and their queues',
      details: { missing },
    },
  );
}

/** Located ids grouped by queue, in the order the queues first appear. */
export function groupByQueue(ids: readonly Located[]): Map<string, string[]> {
  const byQueue = new Map<string, string[]>();
  for (const l of ids) {
    const list = byQueue.get(l.queue);
    if (list) list.push(l.id);
    else byQueue.set(l.queue, [l.id]);
  }
  return byQueue;
}
