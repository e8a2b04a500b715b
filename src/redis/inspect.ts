import { ExitCode, RqctlError } from '../errors.js';
import type { RedisClient } from './connect.js';
import { escapeKey, keyCandidates } from './keyname.js';

/** How much of a value `keys show` reads: a preview, never the whole of a big key. */
export const PREVIEW_ITEMS = 10;
export const PREVIEW_BYTES = 256;

export type PreviewItem = string | { field: string; value: string } | { member: string; score: string } | { id: string; fields: Record<string, string> };

export interface KeyDescription {
  /** The key, escaped (see keyname.ts). */
  key: string;
  type: string;
  /** Seconds to live; -1 without expiry. */
  ttl: number;
  /** Milliseconds to live; -1 without expiry. */
  pttl: number;
  /** Length in the type's unit: bytes of a string, fields of a hash, elements of a list/set/zset/stream. */
  size: number | null;
  /** MEMORY USAGE (bytes), null when refused. */
  bytes: number | null;
  /** OBJECT ENCODING (listpack, hashtable, int, embstr, raw…). */
  encoding: string | null;
  /** Seconds since last access (OBJECT IDLETIME); null under an LFU policy. */
  idleSeconds: number | null;
  /** Consumer groups of a stream. */
  groups?: number;
  preview: PreviewItem[];
  /** True when the preview shows only part of the value. */
  truncated: boolean;
}

/** A value shown in a preview: escaped like key names, cut at PREVIEW_BYTES. */
function show(buf: Buffer | null | undefined): { text: string; cut: boolean } {
  if (!buf) return { text: '', cut: false };
  const cut = buf.length > PREVIEW_BYTES;
  return { text: escapeKey(cut ? buf.subarray(0, PREVIEW_BYTES) : buf) + (cut ? '…' : ''), cut };
}

async function settle<T>(p: Promise<T>): Promise<T | null> {
  try {
    return await p;
  } catch {
    return null;
  }
}

/**
 * Everything about one key, reading only a bounded part of its value: GETRANGE for strings, the
 * first elements for lists and sorted sets, one HSCAN/SSCAN step for hashes and sets, a few stream
 * entries. Returns null when the key does not exist.
 */
export async function describeKey(client: RedisClient, key: Buffer): Promise<KeyDescription | null> {
  const type = await client.type(key);
  if (type === 'none') return null;
  const [pttl, bytes, encoding, idle] = await Promise.all([
    client.pttl(key),
    settle(client.memory('USAGE', key) as Promise<number | null>),
    settle(client.object('ENCODING', key) as Promise<string | null>),
    settle(client.object('IDLETIME', key) as Promise<number | null>),
  ]);
  const d: KeyDescription = {
    key: escapeKey(key),
    type,
    ttl: pttl < 0 ? -1 : Math.ceil(pttl / 1000),
    pttl: pttl < 0 ? -1 : pttl,
    size: null,
    bytes: bytes === null ? null : Number(bytes),
    encoding: encoding === null ? null : String(encoding),
    idleSeconds: idle === null ? null : Number(idle),
    preview: [],
    truncated: false,
  };
  const n = PREVIEW_ITEMS;
  switch (type) {
    case 'string': {
      d.size = await client.strlen(key);
      const part = await client.getrangeBuffer(key, 0, PREVIEW_BYTES - 1);
      d.preview = [escapeKey(part) + (d.size > PREVIEW_BYTES ? '…' : '')];
      d.truncated = d.size > PREVIEW_BYTES;
      break;
    }
    case 'hash': {
      d.size = await client.hlen(key);
      const [, flat] = await client.hscanBuffer(key, 0, 'COUNT', n);
      for (let i = 0; i + 1 < flat.length && d.preview.length < n; i += 2) {
        const v = show(flat[i + 1]);
        d.truncated ||= v.cut;
        d.preview.push({ field: show(flat[i]).text, value: v.text });
      }
      break;
    }
    case 'list': {
      d.size = await client.llen(key);
      d.preview = (await client.lrangeBuffer(key, 0, n - 1)).map((b) => {
        const v = show(b);
        d.truncated ||= v.cut;
        return v.text;
      });
      break;
    }
    case 'set': {
      d.size = await client.scard(key);
      const [, members] = await client.sscanBuffer(key, 0, 'COUNT', n);
      d.preview = members.slice(0, n).map((b) => show(b).text);
      break;
    }
    case 'zset': {
      d.size = await client.zcard(key);
      const flat = await client.zrangeBuffer(key, '0', String(n - 1), 'WITHSCORES');
      for (let i = 0; i + 1 < flat.length; i += 2) d.preview.push({ member: show(flat[i]).text, score: flat[i + 1].toString() });
      break;
    }
    case 'stream': {
      d.size = await client.xlen(key);
      const entries = (await client.xrangeBuffer(key, '-', '+', 'COUNT', Math.min(n, 5))) as [Buffer, Buffer[]][];
      for (const [id, flat] of entries) {
        const fields: Record<string, string> = {};
        for (let i = 0; i + 1 < flat.length; i += 2) fields[show(flat[i]).text] = show(flat[i + 1]).text;
        d.preview.push({ id: id.toString(), fields });
      }
      const groups = await settle(client.xinfo('GROUPS', key) as Promise<unknown[]>);
      if (Array.isArray(groups)) d.groups = groups.length;
      break;
    }
    default:
      // A module type (ReJSON-RL, …): rqctl knows no bounded way to read it.
      break;
  }
  if (d.size !== null && d.type !== 'string' && d.preview.length < d.size) d.truncated = true;
  return d;
}

/** A key that does not exist: exit 4 (a lookup that found nothing, not bad input). `where`: "cache role (…)", "queue role, DB 0". */
export function keyNotFound(text: string, where: string): RqctlError {
  return new RqctlError('KEY_NOT_FOUND', ExitCode.checkFailed, `key "${text}" not found in the ${where}`, {
    hint: 'list keys with `rqctl keys --role cache PATTERN`',
  });
}

/** `keys show`: the first reading of a typed key that exists (see keyCandidates), described; exit 4 when none does. */
export async function showKey(client: RedisClient, text: string, where: string): Promise<KeyDescription> {
  for (const key of keyCandidates(text)) {
    const d = await describeKey(client, key);
    if (d) return d;
  }
  throw keyNotFound(text, where);
}
