import { LockManager } from 'bullmq';

/**
 * The jobs a BullMQ Worker renews locks for, by id, in a plain dictionary instead of a `Map`.
 *
 * BullMQ's LockManager tracks each running job in a `Map` that gains and loses an entry per job. Like
 * the Set of in-flight promises (pending-promises.ts), V8 replaces the Map's hash table every few dozen
 * such changes and links each replaced table to its successor, so once one has reached the old
 * generation every later one is promoted too (measured: ~240 bytes per job; docs/worker.md). An object
 * without a prototype is a hash table V8 rehashes in place or copies without such a link. Unlike the
 * pending list it is keyed: a worker may run thousands of jobs at once, and a lookup stays O(1).
 *
 * Only what the LockManager uses: get, set, delete, size, keys, values and clear. Values are never
 * undefined there (each is `{ token, ts, abortController }`), which `set` relies on to count.
 */
export class TrackedJobs<V extends object> {
  private byId: Record<string, V> = Object.create(null);
  private count = 0;

  static from<V extends object>(entries: Iterable<[string, V]>): TrackedJobs<V> {
    const t = new TrackedJobs<V>();
    for (const [k, v] of entries) t.set(k, v);
    return t;
  }

  get size(): number {
    return this.count;
  }

  get(id: string): V | undefined {
    return this.byId[id];
  }

  has(id: string): boolean {
    return this.byId[id] !== undefined;
  }

  set(id: string, value: V): this {
    if (this.byId[id] === undefined) this.count++;
    this.byId[id] = value;
    return this;
  }

  delete(id: string): boolean {
    if (this.byId[id] === undefined) return false;
    delete this.byId[id];
    this.count--;
    return true;
  }

  clear(): void {
    this.byId = Object.create(null);
    this.count = 0;
  }

  /** Over a copy of the ids: the LockManager updates entries while it walks them. */
  keys(): IterableIterator<string> {
    return Object.keys(this.byId)[Symbol.iterator]();
  }

  values(): IterableIterator<V> {
    return Object.values(this.byId)[Symbol.iterator]();
  }

  [Symbol.iterator](): IterableIterator<[string, V]> {
    return Object.entries(this.byId)[Symbol.iterator]();
  }
}

type LockManagerShape = { trackedJobs?: unknown; trackJob(...args: unknown[]): unknown };

let installed = false;

/**
 * Makes every BullMQ LockManager keep its tracked jobs in a TrackedJobs dictionary, from its first
 * `trackJob` on. Only while the installed BullMQ keeps them in a Map (6.x does); otherwise the lock
 * manager is left as it is. Idempotent; called before the worker's BullMQ Workers are made.
 */
export function keepBullmqLocksInDictionary(): boolean {
  if (installed) return true;
  const proto = (LockManager as unknown as { prototype?: LockManagerShape } | undefined)?.prototype;
  if (!proto || typeof proto.trackJob !== 'function') return false;
  const trackJob = proto.trackJob;
  proto.trackJob = function (this: LockManagerShape, ...args: unknown[]): unknown {
    if (this.trackedJobs instanceof Map) this.trackedJobs = TrackedJobs.from(this.trackedJobs as Map<string, object>);
    return trackJob.apply(this, args);
  };
  installed = true;
  return true;
}
