import { describe, expect, it } from 'vitest';
import { checkCron } from '../../src/config/cron.js';
import { scheduleEntrySchema } from '../../src/config/schema.js';
import { planEntry, type PlannedEntry } from '../../src/schedule/entries.js';
import { dueInWindow, isoInZone, nextRuns, tickLockTtl, lateLimit } from '../../src/schedule/timing.js';

const entry = (e: Record<string, unknown>): PlannedEntry => planEntry(scheduleEntrySchema.parse({ name: 'e', command: 'true', ...e }));
const iso = (ms: number) => new Date(ms).toISOString();
const runs = (e: PlannedEntry, from: string, n: number) => nextRuns(e, new Date(from), n).map((d) => d.toISOString());
const local = (e: PlannedEntry, from: string, n: number) => nextRuns(e, new Date(from), n).map((d) => isoInZone(d.getTime(), e.timezone));

describe('next runs across DST in Europe/Berlin (fixed start dates)', () => {
  it('a daily 03:00 job keeps its wall time when the clocks go forward (2026-03-29)', () => {
    const e = entry({ cron: '0 3 * * *', timezone: 'Europe/Berlin' });
    expect(runs(e, '2026-03-27T12:00:00Z', 3)).toEqual(['2026-03-28T02:00:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-30T01:00:00.000Z']);
    expect(local(e, '2026-03-27T12:00:00Z', 3)).toEqual(['2026-03-28T03:00:00.000+01:00', '2026-03-29T03:00:00.000+02:00', '2026-03-30T03:00:00.000+02:00']);
  });

  it('02:30 does not exist on 2026-03-29: the run happens once that day, after the jump (as BullMQ computes it)', () => {
    const e = entry({ cron: '30 2 * * *', timezone: 'Europe/Berlin' });
    const got = local(e, '2026-03-27T12:00:00Z', 3);
    expect(got).toEqual(['2026-03-28T02:30:00.000+01:00', '2026-03-29T03:30:00.000+02:00', '2026-03-30T02:30:00.000+02:00']);
  });

  it('hourly runs stay one real hour apart through the missing hour', () => {
    const e = entry({ cron: '0 * * * *', timezone: 'Europe/Berlin' });
    const got = nextRuns(e, new Date('2026-03-28T22:30:00Z'), 5).map((d) => d.getTime());
    for (let i = 1; i < got.length; i++) expect(got[i] - got[i - 1]).toBe(3_600_000);
    expect(got.map((t) => isoInZone(t, 'Europe/Berlin').slice(11, 16))).toEqual(['00:00', '01:00', '03:00', '04:00', '05:00']);
  });

  it('02:30 happens twice on 2026-10-25 (clocks go back): a daily 02:30 job still runs once', () => {
    const e = entry({ cron: '30 2 * * *', timezone: 'Europe/Berlin' });
    expect(local(e, '2026-10-23T12:00:00Z', 3)).toEqual(['2026-10-24T02:30:00.000+02:00', '2026-10-25T02:30:00.000+02:00', '2026-10-26T02:30:00.000+01:00']);
  });

  it('every 30 minutes keeps real 30-minute spacing through the repeated hour', () => {
    const e = entry({ cron: '*/30 * * * *', timezone: 'Europe/Berlin' });
    expect(local(e, '2026-10-24T23:45:00Z', 6)).toEqual([
      '2026-10-25T02:00:00.000+02:00',
      '2026-10-25T02:30:00.000+02:00',
      '2026-10-25T02:00:00.000+01:00',
      '2026-10-25T02:30:00.000+01:00',
      '2026-10-25T03:00:00.000+01:00',
      '2026-10-25T03:30:00.000+01:00',
    ]);
  });

  it('UTC entries print exactly like Date.toISOString()', () => {
    const e = entry({ cron: '*/5 * * * *' });
    expect(local(e, '2026-03-29T00:58:00Z', 2)).toEqual(['2026-03-29T01:00:00.000Z', '2026-03-29T01:05:00.000Z']);
  });
});

describe('every', () => {
  it('runs on epoch-aligned slots, so every process agrees on the tick', () => {
    expect(runs(entry({ every: '15m' }), '2026-05-01T14:07:30Z', 3)).toEqual([
      '2026-05-01T14:15:00.000Z',
      '2026-05-01T14:30:00.000Z',
      '2026-05-01T14:45:00.000Z',
    ]);
    expect(runs(entry({ every: '30s' }), '2026-05-01T14:07:30Z', 2)).toEqual(['2026-05-01T14:08:00.000Z', '2026-05-01T14:08:30.000Z']);
    expect(runs(entry({ every: 90 }), '2026-05-01T00:00:00Z', 2)).toEqual(['2026-05-01T00:01:30.000Z', '2026-05-01T00:03:00.000Z']);
  });

  it('counts from the run BullMQ has scheduled when one is known', () => {
    const e = entry({ every: '15m' });
    const got = nextRuns(e, new Date('2026-05-01T14:07:00Z'), 3, { anchorMs: Date.parse('2026-05-01T14:10:00Z') }).map((d) => d.toISOString());
    expect(got).toEqual(['2026-05-01T14:10:00.000Z', '2026-05-01T14:25:00.000Z', '2026-05-01T14:40:00.000Z']);
    const later = nextRuns(e, new Date('2026-05-01T14:26:00Z'), 1, { anchorMs: Date.parse('2026-05-01T14:10:00Z') }).map((d) => d.toISOString());
    expect(later).toEqual(['2026-05-01T14:40:00.000Z']);
  });
});

describe('--once: the tick due in the last minute (second)', () => {
  it('minute window for 5-field crons', () => {
    const e = entry({ cron: '*/5 * * * *' });
    expect(iso(dueInWindow(e, Date.parse('2026-05-01T14:05:42Z'))!)).toBe('2026-05-01T14:05:00.000Z');
    expect(dueInWindow(e, Date.parse('2026-05-01T14:06:10Z'))).toBeUndefined();
  });

  it('second window for entries that tick in seconds', () => {
    const e = entry({ cron: '*/2 * * * * *' });
    expect(iso(dueInWindow(e, Date.parse('2026-05-01T14:00:02.500Z'))!)).toBe('2026-05-01T14:00:02.000Z');
    expect(dueInWindow(e, Date.parse('2026-05-01T14:00:03.500Z'))).toBeUndefined();
    expect(iso(dueInWindow(entry({ every: '30s' }), Date.parse('2026-05-01T14:15:30.200Z'))!)).toBe('2026-05-01T14:15:30.000Z');
    expect(iso(dueInWindow(entry({ every: '15m' }), Date.parse('2026-05-01T14:15:30Z'))!)).toBe('2026-05-01T14:15:00.000Z');
  });

  it('never runs a tick before it has come (every: 90s ticks mid-minute)', () => {
    const e = entry({ every: '90s' });
    expect(dueInWindow(e, Date.parse('2026-05-01T00:01:05Z'))).toBeUndefined();
    expect(iso(dueInWindow(e, Date.parse('2026-05-01T00:01:40Z'))!)).toBe('2026-05-01T00:01:30.000Z');
  });

  it('in a timezone: the window is the same instant, the cron is read in local time', () => {
    const e = entry({ cron: '0 9 * * *', timezone: 'America/New_York' });
    expect(iso(dueInWindow(e, Date.parse('2026-07-01T13:00:20Z'))!)).toBe('2026-07-01T13:00:00.000Z');
    expect(dueInWindow(e, Date.parse('2026-07-01T09:00:20Z'))).toBeUndefined();
  });
});

describe('locks are sized to the entry', () => {
  it('a tick lock outlives the late limit and a --once in the same minute, and is short for second-level entries', () => {
    const t = Date.parse('2026-05-01T14:00:00Z');
    const minute = entry({ cron: '* * * * *' });
    const secs = entry({ cron: '*/2 * * * * *' });
    expect(tickLockTtl(minute, t)).toBeGreaterThan(60_000);
    expect(tickLockTtl(minute, t)).toBeGreaterThan(lateLimit(minute, t));
    expect(tickLockTtl(secs, t)).toBeLessThanOrEqual(10_000);
    expect(tickLockTtl(secs, t)).toBeGreaterThan(lateLimit(secs, t));
  });
});

describe('strict cron', () => {
  it.each([
    ['*/5 * * *', /has 4 fields/],
    ['* * * * * * *', /has 7 fields/],
    ['61 * * * *', /invalid/],
    ['0 0 31 2 *', /never fires/],
    ['0 0 30 2 *', /never fires/],
    ['0 0 31 2,4 *', /never fires/],
    ['@hourly', /macros/],
    ['H * * * *', /H \(hashed\)/],
  ])('refuses %s', (expr, message) => {
    expect(checkCron(expr)).toMatch(message);
  });

  it.each(['*/5 * * * *', '0 * * * *', '*/2 * * * * *', '0 0 29 2 *', '0 0 L 2 *', '0 9 * * MON-FRI', '0 0 * * THU', '0 0 31 2 1'])('accepts %s', (expr) => {
    expect(checkCron(expr)).toBeUndefined();
  });

  it('refuses an unknown timezone', () => {
    expect(checkCron('0 * * * *', 'Mars/Olympus')).toMatch(/unknown timezone/);
  });
});
