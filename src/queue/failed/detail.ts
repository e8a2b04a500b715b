import type { Config } from '../../config/resolve.js';
import type { RedisClient } from '../../redis/connect.js';
import { resolveQueues } from '../queues.js';
import { compileFilter, type FailedFilter } from './filter.js';
import { jobDetail, type JobDetail } from '../walk/detail.js';
import { jobKey, readJobs, type ReadResult } from '../walk/job-hash.js';
import { locateFailed } from './locate.js';
import { walkFailed } from './walk.js';

/** Everything about failed jobs, one (`failed show`) or all that match (`failed export`); read-only. */

export interface FailedJobDetail extends JobDetail {
  state: 'failed';
}

function detailFrom(queue: string, id: string, read: ReadResult, raw: Record<string, string> | null): ExportRecord {
  return jobDetail(queue, id, 'failed', read, raw);
}

/** `failed show <id>`: everything about one failed job, corrupt ones included (raw fields). */
export async function showFailed(config: Config, client: RedisClient, id: string, queuesAsked?: readonly string[], logLines = 50): Promise<FailedJobDetail> {
  const [loc] = await locateFailed(config, client, [id], queuesAsked);
  const prefix = config.queue.prefix;
  const [read] = await readJobs(client, prefix, loc.queue, [loc.id], true);
  const logsKey = `${jobKey(prefix, loc.queue, loc.id)}:logs`;
  const [logs, count] = await Promise.all([client.lrange(logsKey, -logLines, -1), client.llen(logsKey)]);
  return { ...detailFrom(loc.queue, loc.id, read.result, read.raw), logs, logCount: count };
}

/** One line of `failed export`. Corrupt jobs are exported too (`corrupt` + their raw fields), for audits. */
export type ExportRecord = Omit<FailedJobDetail, 'logs' | 'logCount'>;

export interface ExportResult {
  exported: number;
  corrupt: number;
  queues: string[];
}

/**
 * `failed export`: every matching failed job, full detail, handed to `write` one at a time (which
 * may return a promise: backpressure). Memory holds one page.
 */
export async function exportFailed(
  config: Config,
  client: RedisClient,
  filter: FailedFilter,
  limit: number,
  write: (rec: ExportRecord) => void | Promise<void>,
): Promise<ExportResult> {
  const f = compileFilter(filter);
  const queues = await resolveQueues(config, client, f.queues);
  let exported = 0;
  let corrupt = 0;
  for (const queue of queues) {
    for await (const page of walkFailed(client, config.queue.prefix, queue, { since: f.since, full: true, readOnly: true })) {
      for (const e of page.entries) {
        if (limit > 0 && exported >= limit) return { exported, corrupt, queues };
        if (e.read.ok && f.match && !f.match(e.read.job)) continue;
        if (!e.read.ok) corrupt++;
        await write(detailFrom(queue, e.id, e.read, e.raw));
        exported++;
      }
    }
  }
  return { exported, corrupt, queues };
}
