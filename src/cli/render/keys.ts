import type { Output } from '../render.js';
import type { BigKeysReport } from '../../redis/bigkeys.js';
import type { KeyDescription } from '../../redis/inspect.js';
import { escapeKey } from '../../redis/keyname.js';
import type { KeyEntry } from '../../redis/keys.js';
import { formatBytes } from '../../util/bytes.js';

/** What the `keys` commands print. */

/**
 * One SCAN batch of `rqctl keys` as text: a key per line, with `long` its type, TTL and size first;
 * with `json` one object per line (and the raw bytes in base64 when the escaped form differs).
 */
export function formatKeyBatch(batch: readonly KeyEntry[], opts: { json: boolean; long: boolean }): string {
  let text = '';
  for (const e of batch) {
    const key = escapeKey(e.key);
    if (opts.json) {
      const o: Record<string, unknown> = { key, type: e.type, ttl: e.ttl, bytes: e.bytes };
      if (!Buffer.from(key, 'utf8').equals(e.key)) o.keyBase64 = e.key.toString('base64');
      text += `${JSON.stringify(o)}\n`;
    } else if (opts.long) {
      text += `${String(e.type).padEnd(6)} ${String(e.ttl).padStart(8)} ${String(e.bytes ?? '?').padStart(10)}  ${key}\n`;
    } else text += `${key}\n`;
  }
  return text;
}

/** `keys show`. */
export function printKeyDescription(out: Output, desc: KeyDescription): void {
  out.result(desc, () => {
    out.line(
      out.kv([
        ['key', desc.key],
        ['type', desc.type],
        ['ttl', desc.ttl < 0 ? 'none (no expiry)' : `${desc.ttl} s`],
        ['size', desc.size === null ? null : `${desc.size} ${desc.type === 'string' ? 'bytes' : desc.type === 'hash' ? 'fields' : 'elements'}`],
        ['memory', desc.bytes === null ? null : `${formatBytes(desc.bytes)} (${desc.bytes} bytes)`],
        ['encoding', desc.encoding],
        ['idle', desc.idleSeconds === null ? null : `${desc.idleSeconds} s`],
        ...(desc.groups !== undefined ? ([['groups', desc.groups]] as [string, number][]) : []),
      ]),
    );
    if (!desc.preview.length) return;
    out.line(out.c.dim(desc.truncated ? `preview (first ${desc.preview.length}${desc.type === 'string' ? ' part' : ''}):` : 'value:'));
    for (const p of desc.preview) {
      if (typeof p === 'string') out.line(`  ${p}`);
      else if ('field' in p) out.line(`  ${p.field} => ${p.value}`);
      else if ('member' in p) out.line(`  ${p.score}  ${p.member}`);
      else
        out.line(
          `  ${p.id}  ${Object.entries(p.fields)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ')}`,
        );
    }
  });
}

/** `keys big`: the largest keys, then memory per type. */
export function printBigKeys(out: Output, r: BigKeysReport, interrupted: boolean): void {
  out.result({ ...r, interrupted }, () => {
    if (!r.memoryAvailable) out.warn('the server refused MEMORY USAGE (ACL or old Redis): sizes are unknown');
    out.line(
      out.table(
        ['#', 'memory', 'bytes', 'type', 'ttl', 'key'],
        r.keys.map((k, i) => [i + 1, formatBytes(k.bytes), k.bytes, k.type, k.ttl < 0 ? '-' : k.ttl, k.key]),
      ),
    );
    out.line('');
    out.line(
      out.table(
        ['type', 'keys', 'memory', 'share'],
        Object.entries(r.byType)
          .sort((a, b) => b[1].bytes - a[1].bytes)
          .map(([t, v]) => [t, v.keys, formatBytes(v.bytes), r.totalBytes ? `${((v.bytes / r.totalBytes) * 100).toFixed(1)}%` : '-']),
      ),
    );
    out.info(
      `${r.scanned} keys scanned, ${formatBytes(r.totalBytes)} in total${r.partial ? ' (stopped at --max-keys: a sample)' : ''}${interrupted ? ' (interrupted)' : ''}`,
    );
  });
}
