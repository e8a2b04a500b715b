import type { RedisClient } from '../../redis/connect.js';

export interface CursorEntry {
  id: string;
  /** The set's score: when the job failed or completed (ms); when it is due (delayed); its priority rank (prioritized). */
  score: string;
}

/**
 * Walks one of a queue's sorted sets (failed, completed, delayed, prioritized, waiting-children)
 * from the highest score down, one page at a time, so memory stays flat however many jobs there are.
 *
 * The cursor is a score plus an offset among the members holding exactly that score (bulk failures
 * share milliseconds), not a rank: jobs that finish while we walk get newer scores and never shift
 * the pages still ahead, workers taking prioritized jobs from the low end shift nothing either, and
 * callers that take jobs out of the set (retry, remove, promote) say so with `removed()` so the offset
 * stays right. Walking failed and completed sets newest first also means a retried job that fails
 * again at once is never met a second time.
 */
export class ZsetCursor {
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
