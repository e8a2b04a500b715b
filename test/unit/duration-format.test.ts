import { describe, expect, it } from 'vitest';
import { formatAgo, formatSpan } from '../../src/util/duration.js';

describe('formatSpan: how long, in the largest unit and the next', () => {
  it.each([
    [0, '0s'],
    [45_999, '45s'],
    [125_000, '2m 5s'],
    [3_600_000, '1h 0m'],
    [30 * 3_600_000 + 300_000, '30h 5m'],
    [50 * 3_600_000, '2d 2h'],
  ])('%d ms → %s (a job waiting)', (ms, text) => expect(formatSpan(ms)).toBe(text));

  it('an uptime: days from 24 hours, minutes always', () => {
    expect(formatSpan(45_000, { daysFrom: 24, minutes: true })).toBe('0m 45s');
    expect(formatSpan(25 * 3_600_000, { daysFrom: 24, minutes: true })).toBe('1d 1h');
  });
});

describe('formatAgo: how long ago, as precise as a glance needs', () => {
  const now = Date.parse('2024-05-01T12:00:00Z');
  it.each([
    [now + 5_000, 'just now'],
    [now - 999, 'just now'],
    [now - 59_000, '59s ago'],
    [now - 61_000, '1m ago'],
    [now - 3_660_000, '1h 1m ago'],
    [now - 47 * 3_600_000, '47h 0m ago'],
    [now - 72 * 3_600_000, '3d ago'],
  ])('%d → %s', (then, text) => expect(formatAgo(then, now)).toBe(text));
});
