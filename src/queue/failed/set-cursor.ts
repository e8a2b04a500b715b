import type { RedisClient } from '../../redis/connect.js';

export interface CursorEntry {
  id: string;
  /** The failed set's score: when the job failed (ms). */
  score: string;
}

/**
 * Walks a failed sorted set newest first, one page at a time, so memory stays flat however many
 * failed jobs there are (100,000 is BullMQ's default cap per queue; rqctl's retention keeps that many).
 *
 * The cursor is a score plus an offset among the members holding exactly that score (bulk failures
 * share milliseconds), not a rank: jobs that fail while we walk get newer scores and never shift
 * the pages still ahead, and callers that take jobs out of the set (retry, forget) say so with
 * `removed()` so the offset stays right. Walking newest first also means a retried job that fails
 * again at once is never met a second time.
 */
export class FailedSetCursor {
  private max: string;
  private offset = 0;
  private lastPage: CursorEntry[] = [];
  private done = false;

  constructor(
    private readonly client: RedisClient,
    private readonly key: string,
    private readonly opts: { from?: number; to?: number; pageSize?: number } = {},
  ) {
    this.max = opts.from === undefined ? '+inf' : String(opts.from);
  }

  /** The next page, or null at the end. */
  async next(): Promise<CursorEntry[] | null> {
    if (this.done) return null;
    this.advance();
    const size = this.opts.pageSize ?? 1000;
    const min = this.opts.to === undefined ? '-inf' : String(this.opts.to);
    const reply = (await this.client.zrevrangebyscore(this.key, this.max, min, 'WITHSCORES', 'LIMIT', this.offset, size)) as string[];
    const page: CursorEntry[] = [];
    for (let i = 0; i < reply.length; i += 2) page.push({ id: reply[i], score: reply[i + 1] });
    this.lastPage = page;
    if (page.length < size) this.done = true;
    if (page.length === 0) return null;
    return page;
  }

  private removedIds = new Set<string>();

  /** These ids of the last page have left the set (retried, removed). */
  removed(ids: Iterable<string>): void {
    for (const id of ids) this.removedIds.add(id);
  }

  private advance(): void {
    if (this.lastPage.length === 0) return;
    const lastScore = this.lastPage[this.lastPage.length - 1].score;
    // Members of the last page still in the set at the last score: the next page skips them.
    let kept = 0;
    for (const e of this.lastPage) if (e.score === lastScore && !this.removedIds.has(e.id)) kept++;
    // With a page entirely at one score, the members skipped by the previous offset are still there too.
    const carried = lastScore === this.max ? this.offset : 0;
    this.offset = carried + kept;
    this.max = lastScore;
    this.removedIds.clear();
  }
}
