import type { Config } from '../../config/resolve.js';
import type { RedisClient } from '../../redis/connect.js';
import { queuesToWalk } from '../discover.js';
import { jobDetail, type JobRecordDetail } from '../walk/detail.js';
import { readJobs } from '../walk/job-hash.js';
import type { JobState } from '../walk/states.js';
import { compileFind, type FindFilter } from './filter.js';
import { emptyTally, walkMatches, type MatchTally } from './matches.js';

export interface ExportSummary extends MatchTally {
  /** Lines written (a dry run: that would be). */
  exported: number;
  dryRun: boolean;
  states: JobState[];
}

/**
 * `jobs find --export`: every match (up to `limit`, 0 = all) in full — payload, options, reason,
 * stack traces, return value — handed to `write` one at a time (it may return a promise:
 * backpressure). Matches are found on the listing fields, then only their hashes are read in full,
 * one pipeline per page. Lines come queue by queue, state by state, newest first within a state.
 * A match that is gone by the time it is read in full is left out.
 */
export async function exportJobs(
  config: Config,
  client: RedisClient,
  filter: FindFilter,
  opts: { limit: number; dryRun?: boolean },
  write: (line: JobRecordDetail) => void | Promise<void>,
): Promise<ExportSummary> {
  const f = compileFind(filter);
  const prefix = config.queue.prefix;
  const result: ExportSummary = { ...emptyTally(), exported: 0, dryRun: !!opts.dryRun, states: f.states };
  for await (const page of walkMatches(client, prefix, queuesToWalk(config, client, f.queues), f, result, { readOnly: true, startedAt: Date.now() })) {
    const room = opts.limit > 0 ? opts.limit - result.exported : page.jobs.length;
    const batch = page.jobs.slice(0, Math.max(0, room));
    if (batch.length === 0) continue;
    if (result.dryRun) {
      result.exported += batch.length;
      continue;
    }
    const reads = await readJobs(
      client,
      prefix,
      page.queue,
      batch.map((j) => j.id),
      true,
    );
    for (let i = 0; i < batch.length; i++) {
      const { result: read, raw } = reads[i];
      if (!read.ok) continue;
      await write(jobDetail(page.queue, batch[i].id, page.state, read, raw));
      result.exported++;
    }
  }
  return result;
}
