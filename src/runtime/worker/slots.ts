/** The process-wide concurrency limit shared by a worker's queues: FIFO, so no queue starves. */
export class Slots {
  private free: number;
  private readonly waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  constructor(size: number) {
    this.free = size;
  }
  /** Takes a free slot now, without a promise (the common case: a BullMQ worker never asks for more than it may run). */
  tryAcquire(): boolean {
    if (this.free === 0) return false;
    this.free--;
    return true;
  }
  acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }
  release(): void {
    const next = this.waiters.shift();
    if (next) next.resolve();
    else this.free++;
  }
  /** Jobs still waiting for a slot go back to their queue. */
  cancelWaiters(): void {
    for (const w of this.waiters.splice(0)) w.reject(new Error('stopping'));
  }
}
