import { AsyncFifoQueue } from 'bullmq';

/**
 * The promises a BullMQ Worker has in flight (its fetches and the jobs it runs), kept in a list.
 *
 * BullMQ's Worker keeps them in its `AsyncFifoQueue`, in a `Set` that gains and loses an entry per
 * job. V8 replaces a Set's hash table every few dozen such changes, and each replaced table links to
 * its successor; once one table has reached the old generation (it was unchanged over two minor
 * collections: a worker waiting for jobs), every later table is kept alive by its predecessor and
 * promoted in turn. A busy worker then promotes ~800 bytes per job that only a full collection frees:
 * twice the minor-collection time and more full collections (measured: 81 MB promoted over 100,000
 * no-op jobs at concurrency 50, 24 MB with this list; CPU per job 52 → 48 µs; docs/worker.md,
 * BENCHMARKS.md). A list has no tables to chain. The queue uses only `add`, `delete`, `size` and
 * iteration; the list holds at most the concurrency plus one fetch, so `delete` is a short scan.
 */
export class PendingPromises<T> implements Iterable<T> {
  private readonly items: T[] = [];

  static from<T>(values: Iterable<T>): PendingPromises<T> {
    const list = new PendingPromises<T>();
    for (const v of values) list.add(v);
    return list;
  }

  get size(): number {
    return this.items.length;
  }

  /** BullMQ adds each promise once (a new one per fetch and per job): no duplicate check. */
  add(value: T): this {
    this.items.push(value);
    return this;
  }

  has(value: T): boolean {
    return this.items.includes(value);
  }

  delete(value: T): boolean {
    const items = this.items;
    const i = items.indexOf(value);
    if (i < 0) return false;
    const last = items.pop()!;
    if (i < items.length) items[i] = last;
    return true;
  }

  clear(): void {
    this.items.length = 0;
  }

  [Symbol.iterator](): Iterator<T> {
    return this.items.slice()[Symbol.iterator]();
  }
}

type FifoQueue = { pending?: unknown; add(promise: Promise<unknown>): void };

let installed = false;

/**
 * Makes every BullMQ AsyncFifoQueue keep its pending promises in a PendingPromises list, from its
 * first `add` on. Only while the installed BullMQ keeps them in a Set (6.x does): with anything else
 * the queue is left as it is. Idempotent; called before the worker's BullMQ Workers are made.
 */
export function keepBullmqPendingInList(): boolean {
  if (installed) return true;
  const proto = (AsyncFifoQueue as unknown as { prototype?: FifoQueue } | undefined)?.prototype;
  if (!proto || typeof proto.add !== 'function') return false;
  const add = proto.add;
  proto.add = function (this: FifoQueue, promise: Promise<unknown>): void {
    if (this.pending instanceof Set) this.pending = PendingPromises.from(this.pending as Set<unknown>);
    add.call(this, promise);
  };
  installed = true;
  return true;
}
