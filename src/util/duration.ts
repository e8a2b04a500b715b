/**
 * Durations as operators write them: `10s`, `15m`, `1h`, `2d`, `500ms`, or a bare number.
 * A bare number is read in `bareUnit` (seconds unless said otherwise), matching the old worker flags
 * (`--timeout=300` means seconds).
 */
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

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
