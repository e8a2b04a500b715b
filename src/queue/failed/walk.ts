import type { RedisClient } from '../../redis/connect.js';
import { failedKey, readJobs, type ReadResult } from './job-hash.js';
import { FailedSetCursor } from './set-cursor.js';

/** Failed jobs are read, retried and removed a page at a time: memory holds one page, whatever the backlog. */
export const PAGE_SIZE = 1000;

export interface WalkPage {
  queue: string;
  entries: { id: string; score: string; read: ReadResult; raw: Record<string, string> | null }[];
  cursor: FailedSetCursor;
}

/**
 * Every page of one queue's failed set (newest first), hashes read in one pipeline per page.
 * `until`/`since` bound the failure time (ms).
 */
export async function* walkFailed(
  client: RedisClient,
  prefix: string,
  queue: string,
  opts: { since?: number; until?: number; full?: boolean; pageSize?: number; readOnly?: boolean } = {},
): AsyncGenerator<WalkPage> {
  const cursor = new FailedSetCursor(client, failedKey(prefix, queue), { from: opts.until, to: opts.since, pageSize: opts.pageSize ?? PAGE_SIZE });
  let page = await cursor.next();
  while (page) {
    const current = page;
    const reads = readJobs(
      client,
      prefix,
      queue,
      current.map((e) => e.id),
      opts.full,
    );
    // Read-only walks ask for the next page's ids while this page's hashes are on the wire (one
    // connection, so the commands pipeline). Callers that remove jobs must report removals first.
    const next = opts.readOnly ? cursor.next() : undefined;
    next?.catch(() => {});
    const r = await reads;
    yield { queue, cursor, entries: current.map((e, i) => ({ id: e.id, score: e.score, read: r[i].result, raw: r[i].raw })) };
    page = next ? await next : await cursor.next();
  }
}
