import { AsyncFifoQueue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { keepBullmqPendingInList, PendingPromises } from '../../src/runtime/worker/pending-promises.js';

// The worker keeps BullMQ's in-flight promises in a list instead of a Set (pending-promises.ts: a Set
// changed per job costs garbage collection). These run BullMQ's own AsyncFifoQueue, the class its
// Worker's main loop uses, with the list in place.

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** The queue's own field (private in BullMQ's types). */
const pendingOf = (q: AsyncFifoQueue<unknown>) => (q as unknown as { pending: unknown }).pending;

describe("BullMQ's in-flight promises in a list", () => {
  it('the installed BullMQ keeps them in a Set (if this fails, BullMQ changed and the list is no longer used: see pending-promises.ts)', () => {
    expect(pendingOf(new AsyncFifoQueue())).toBeInstanceOf(Set);
  });

  it('with the list, the queue hands results over in the order they settle and counts what is in flight', async () => {
    expect(keepBullmqPendingInList()).toBe(true);
    const q = new AsyncFifoQueue<string>(true);
    const [a, b, c] = [deferred<string>(), deferred<string>(), deferred<string>()];
    q.add(a.promise);
    q.add(b.promise);
    q.add(c.promise);
    expect(pendingOf(q)).toBeInstanceOf(PendingPromises);
    expect(q.numPending()).toBe(3);

    b.resolve('b');
    expect(await q.fetch()).toBe('b');
    expect(q.numPending()).toBe(2);
    // A failed one, with the queue's consumer waiting: ignoreErrors gives it an empty slot.
    const next = q.fetch();
    c.reject(new Error('boom'));
    expect(await next).toBeUndefined();
    a.resolve('a');
    expect(await q.fetch()).toBe('a');
    expect(q.numPending()).toBe(0);
    expect(q.numTotal()).toBe(0);
    expect(await q.fetch()).toBeUndefined();

    const d = deferred<string>();
    q.add(d.promise);
    const all = q.waitAll();
    d.resolve('d');
    await all;
    expect(q.numPending()).toBe(0);
  });

  it('the list: add, delete from anywhere, size, iteration over a copy', () => {
    const list = PendingPromises.from(['a', 'b', 'c', 'd']);
    expect(list.delete('b')).toBe(true);
    expect(list.delete('b')).toBe(false);
    expect(list.size).toBe(3);
    expect([...list].sort()).toEqual(['a', 'c', 'd']);
    for (const v of list) list.delete(v);
    expect(list.size).toBe(0);
    expect(list.has('a')).toBe(false);
  });
});
