import type { RedisClient } from '../../redis/connect.js';
import { execPipeline } from '../../redis/pipeline.js';
import { requestJobs, storedJobs, type StoredJob } from './job-hash.js';
import { ListCursor } from './list-cursor.js';
import { stateKey, stateLayout, type JobState } from './states.js';
import { ZsetCursor } from './zset-cursor.js';

/**
 * Jobs are read, retried and removed a page at a time: memory holds one page, whatever the backlog,
 * and no single command makes Redis work for more than a page's worth.
 */
export const PAGE_SIZE = 1000;

/** A job as a walk met it: `read` parses it (once), `fields` are as stored. */
export type WalkEntry = StoredJob;

/** The cursor of a page: callers that take jobs out of the state report them, so no job is skipped. */
export interface PageCursor {
  removed(ids: Iterable<string>): void;
}

export interface WalkPage {
  queue: string;
  state: JobState;
  entries: WalkEntry[];
  cursor: PageCursor;
}

export interface WalkOptions {
  /** Failed and completed jobs that finished at or after this time (ms): a score range, nothing else is read. */
  since?: number;
  /** … and at or before this time (ms). */
  until?: number;
  /** Read every field (HGETALL) rather than the listing fields. */
  full?: boolean;
  pageSize?: number;
  /**
   * Nothing is removed while walking: the next page's ids are asked for while this page's hashes
   * are on the wire (one connection, so the commands pipeline).
   */
  readOnly?: boolean;
}

type Cursor = { next(): Promise<{ id: string; score?: string; index?: number }[] | null> } & PageCursor;

/**
 * Every page of one state of one queue, hashes read in one pipeline per page. Sorted sets come
 * highest score first (failed and completed: newest first), lists head first (newest first).
 */
export async function* walkState(client: RedisClient, prefix: string, queue: string, state: JobState, opts: WalkOptions = {}): AsyncGenerator<WalkPage> {
  const layout = stateLayout(state);
  const pageSize = opts.pageSize ?? PAGE_SIZE;
  for (const name of layout.keys) {
    const key = stateKey(prefix, queue, name);
    const cursor: Cursor =
      layout.kind === 'zset'
        ? new ZsetCursor(client, key, layout.scoredByFinish ? { from: opts.until, to: opts.since, pageSize } : { pageSize })
        : new ListCursor(client, key, pageSize);
    const request = (page: readonly { id: string }[]) => {
      const sent = requestJobs(
        client,
        prefix,
        queue,
        page.map((e) => e.id),
        opts.full,
      );
      sent.catch(() => {});
      return sent;
    };
    let page = await cursor.next();
    let replies = page ? request(page) : undefined;
    while (page && replies) {
      const current = page;
      // Read-only walks keep Redis busy while this process works: the next page's ids are asked for
      // behind this page's hashes, and the next page's hashes before this page is parsed (one
      // connection: the commands pipeline). Walks that remove jobs report removals before going on.
      const next = opts.readOnly ? cursor.next() : undefined;
      next?.catch(() => {});
      const r = await replies;
      let nextReplies: ReturnType<typeof request> | undefined;
      if (next) {
        page = await next;
        nextReplies = page ? request(page) : undefined;
      }
      const entries = storedJobs(
        queue,
        current.map((e) => e.id),
        r,
        opts.full,
      );
      const gone = await goneMeanwhile(client, key, layout.kind, current, entries);
      yield { queue, state, cursor, entries: gone.size ? entries.filter((e) => !gone.has(e.id)) : entries };
      if (!next) {
        page = await cursor.next();
        nextReplies = page ? request(page) : undefined;
      }
      replies = nextReplies;
    }
  }
}

/**
 * A hash that is missing is either a stale id (corrupt: BullMQ would choke on it) or a job that
 * finished and was removed between reading the ids and reading the hashes (retention, another
 * operator): nothing to report. Tells them apart by asking whether the id is still in the set, or
 * still near where it was in the list. Returns the ids that are gone.
 */
async function goneMeanwhile(
  client: RedisClient,
  key: string,
  kind: 'zset' | 'list',
  page: readonly { id: string; index?: number }[],
  entries: readonly WalkEntry[],
): Promise<Set<string>> {
  const missing = page.filter((_, i) => entries[i].missing);
  const gone = new Set<string>();
  if (missing.length === 0) return gone;
  const pipe = client.pipeline();
  // Jobs added at the head meanwhile shift a list to the right: look a little further on.
  for (const m of missing) {
    if (kind === 'zset') pipe.zscore(key, m.id);
    else pipe.lrange(key, Math.max(0, (m.index ?? 0) - 100), (m.index ?? 0) + 1000);
  }
  const replies = await execPipeline(pipe);
  missing.forEach((m, i) => {
    const [err, value] = replies[i] ?? [];
    if (err) return;
    const still = kind === 'zset' ? value !== null && value !== undefined : (value as string[]).includes(m.id);
    if (!still) gone.add(m.id);
  });
  return gone;
}
