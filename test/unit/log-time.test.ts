import { describe, expect, it } from 'vitest';
import { isoNow, isoTime, putIsoTime } from '../../src/cli/log-time.js';

/** isoTime and putIsoTime for `t`, each as a string. */
function both(t: number): [string, string] {
  const b = Buffer.alloc(40, 0x2e);
  const end = putIsoTime(b, 3, t);
  return [isoTime(t), b.toString('latin1', 3, end)];
}

describe('the time of a log line', () => {
  it('is what Date#toISOString writes, at every millisecond boundary and across seconds', () => {
    const base = Date.UTC(2026, 11, 5, 13, 59, 59, 0);
    const times = [
      // every millisecond of a second, in order, then the next second and back (the cache is per second)
      ...Array.from({ length: 1001 }, (_, i) => base + i),
      base - 1,
      base + 86_400_000 + 7,
      0,
      1,
      999,
      -1, // 1969-12-31T23:59:59.999Z
      -1001,
      Date.UTC(9999, 11, 31, 23, 59, 59, 999),
      Date.UTC(10000, 0, 1, 0, 0, 0, 5), // +010000-…
      Date.UTC(-1, 0, 1, 0, 0, 0, 42), // -000001-…
      Date.UTC(2024, 1, 29, 12, 0, 0, 10), // leap day
    ];
    for (const t of times) {
      const want = new Date(t).toISOString();
      expect(both(t), String(t)).toEqual([want, want]);
    }
  });

  it('writes only its own bytes into the buffer', () => {
    const b = Buffer.alloc(40, 0x2e);
    const end = putIsoTime(b, 5, Date.UTC(2026, 0, 2, 3, 4, 5, 6));
    expect(end).toBe(5 + 24);
    expect(b.toString('latin1')).toBe(`.....2026-01-02T03:04:05.006Z${'.'.repeat(11)}`);
  });

  it('is the current time', () => {
    const before = Date.now();
    const t = Date.parse(isoNow());
    expect(t).toBeGreaterThanOrEqual(before);
    expect(t).toBeLessThanOrEqual(Date.now());
  });
});
