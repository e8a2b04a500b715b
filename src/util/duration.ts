/**
 * Durations as operators write them: `10s`, `15m`, `1h`, `2d`, `500ms`, or a bare number.
 * A bare number is read in `bareUnit` (seconds unless said otherwise), matching the old worker flags
 * (`--timeout=300` means seconds).
 */
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * The longest wait rqctl hands to a timer: 24 days. Node's timers hold at most 2^31−1 ms (24.8 days)
 * and fire at once on anything longer, so an unchecked `--timeout 30d` would end a wait immediately.
 */
export const MAX_TIMER_MS = 24 * UNITS.d;

export function parseDuration(text: string | number, bareUnit: keyof typeof UNITS = 's'): number | undefined {
  if (typeof text === 'number') return Number.isFinite(text) && text >= 0 ? text * UNITS[bareUnit] : undefined;
  const s = text.trim();
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?$/i.exec(s);
  if (!m) return undefined;
  const unit = (m[2] ?? bareUnit).toLowerCase();
  return Math.round(Number(m[1]) * UNITS[unit]);
}

/** `1234567` → `20m 34s`; for human output. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  let s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const parts: string[] = [];
  if (d) parts.push(`${d}d`);
  if (h) parts.push(`${h}h`);
  if (m && !d) parts.push(`${m}m`);
  if (s && !d && !h) parts.push(`${s}s`);
  return parts.join(' ') || '0s';
}

export interface SpanOptions {
  /** Hours from which a span is told in days (default 48: "30h 5m" reads better than "1d 6h" for a job's wait). */
  daysFrom?: number;
  /** Minutes even under a minute: `0m 45s`, like an uptime readout (default: `45s`). */
  minutes?: boolean;
}

/**
 * How long something lasts or has waited, in its largest unit and the next: `45s`, `3m 20s`,
 * `5h 12m`, `3d 4h`. Whole seconds, rounded down.
 */
export function formatSpan(ms: number, opts: SpanOptions = {}): string {
  const s = Math.floor(ms / 1000);
  const m = Math.floor(s / 60);
  const h = Math.floor(m / 60);
  if (h >= (opts.daysFrom ?? 48)) return `${Math.floor(h / 24)}d ${h % 24}h`;
  if (h > 0) return `${h}h ${m % 60}m`;
  if (m > 0 || opts.minutes) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

/**
 * How long ago something happened, as precise as a glance needs: `just now`, `45s ago`, `3m ago`,
 * `5h 12m ago`, `3d ago`. A time in the future counts as now.
 */
export function formatAgo(then: number, now = Date.now()): string {
  const d = Math.max(0, now - then);
  if (d < 1000) return 'just now';
  const s = Math.floor(d / 1000);
  if (s < 60) return `${s}s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${formatSpan(d)} ago`;
  return `${Math.floor(h / 24)}d ago`;
}
