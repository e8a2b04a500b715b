import type { RedisClient } from '../../redis/connect.js';

export interface ListEntry {
  id: string;
  /** Its position when read (0 = the head, the newest job). */
  index: number;
}

/**
 * Walks a queue's list (`wait`, `active`, BullMQ < 5's `paused`) from the head, one LRANGE page at a
 * time. BullMQ adds at the head (LPUSH) and workers take from the tail, so the head is the newest job
 * and taking jobs never shifts the positions still ahead. Jobs added while we walk do shift them:
 * some ids of the previous page come round again, and the caller drops those it has met (a list
 * has no score to hold on to). Callers that take jobs out of the list (remove) say so with
 * `removed()` so the next page starts where it should.
 */
export class ListCursor {
  private start = 0;
  private lastPage: string[] = [];
  private removedIds = new Set<string>();
  private done = false;

  constructor(
    private readonly client: RedisClient,
    private readonly key: string,
    private readonly pageSize = 1000,
  ) {}

  /** The next page, or null at the end. */
  async next(): Promise<ListEntry[] | null> {
    if (this.done) return null;
    let kept = 0;
    for (const id of this.lastPage) if (!this.removedIds.has(id)) kept++;
    this.start += kept;
    this.removedIds.clear();
    const ids = await this.client.lrange(this.key, this.start, this.start + this.pageSize - 1);
    this.lastPage = ids;
    if (ids.length < this.pageSize) this.done = true;
    if (ids.length === 0) return null;
    return ids.map((id, i) => ({ id, index: this.start + i }));
  }

  /** These ids of the last page have left the list (removed). */
  removed(ids: Iterable<string>): void {
    for (const id of ids) this.removedIds.add(id);
  }
}
