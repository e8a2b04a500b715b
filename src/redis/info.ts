/** INFO output as a flat map: `used_memory` → `1234`. Section headers and blank lines are dropped. */
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    if (!line || line.startsWith('#')) continue;
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/** `db1:keys=3,expires=1,avg_ttl=0` → { db1: { keys: 3, expires: 1, avg_ttl: 0 } } */
export function parseKeyspace(info: Record<string, string>): Record<string, { keys: number; expires: number; avgTtl: number }> {
  const out: Record<string, { keys: number; expires: number; avgTtl: number }> = {};
  for (const [k, v] of Object.entries(info)) {
    if (!/^db\d+$/.test(k)) continue;
    const f = Object.fromEntries(v.split(',').map((p) => p.split('=') as [string, string]));
    out[k] = { keys: Number(f.keys ?? 0), expires: Number(f.expires ?? 0), avgTtl: Number(f.avg_ttl ?? 0) };
  }
  return out;
}

/** Compares dotted versions: `compareVersions('6.2.1', '6.2') > 0`. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d) return d;
  }
  return 0;
}

/** CONFIG GET returns a flat [k, v, k, v] list; CONFIG may also be renamed away in hardened setups. */
export function pairsToObject(list: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(list)) for (let i = 0; i + 1 < list.length; i += 2) out[String(list[i])] = String(list[i + 1]);
  return out;
}
