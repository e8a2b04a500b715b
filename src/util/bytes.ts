/** `1536` → `1.50K`, like redis-cli's human memory figures (powers of 1024). */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '-';
  const units = ['B', 'K', 'M', 'G', 'T'];
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v}B` : `${v.toFixed(2)}${units[u]}`;
}

/** `0.98765` → `98.8%`; `null` → `-`. */
export function formatRatio(r: number | null | undefined): string {
  return r === null || r === undefined ? '-' : `${(r * 100).toFixed(1)}%`;
}
