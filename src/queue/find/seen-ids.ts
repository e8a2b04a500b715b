/**
 * The ids of the jobs a walk has met, per queue, so that none is met twice. It grows with the
 * matches, so it is kept small: BullMQ's own ids (a counter: 1, 2, 3…) as bits in blocks of 4,096
 * (a million ids in about 128 KB, where a Set of their strings would hold 45 MB and make the heap
 * grow several times that), any other id (custom ids, a job scheduler's runs) as a string.
 */
export class SeenIds {
  private readonly blocks = new Map<number, Uint32Array>();
  private readonly others = new Set<string>();

  has(id: string): boolean {
    const n = counterId(id);
    if (n < 0) return this.others.has(id);
    const block = this.blocks.get(Math.floor(n / 4096));
    return block !== undefined && (block[(n % 4096) >>> 5] & (1 << (n & 31))) !== 0;
  }

  add(id: string): void {
    const n = counterId(id);
    if (n < 0) {
      this.others.add(id);
      return;
    }
    const key = Math.floor(n / 4096);
    let block = this.blocks.get(key);
    if (!block) this.blocks.set(key, (block = new Uint32Array(128)));
    block[(n % 4096) >>> 5] |= 1 << (n & 31);
  }
}

/** The number of an id as BullMQ's counter writes it (digits, no leading zero), else -1. */
function counterId(id: string): number {
  const len = id.length;
  if (len === 0 || len > 15 || (len > 1 && id.charCodeAt(0) === 48)) return -1;
  let n = 0;
  for (let i = 0; i < len; i++) {
    const c = id.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}
