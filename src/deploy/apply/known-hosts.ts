import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';

/**
 * The host-key check OpenSSH makes before it talks to a server, for `DOCKER_HOST=ssh://`
 * (docs/deployment.md): the key the server presents must be listed for that host in a known_hosts
 * file. Entries are read as ssh writes them: `host`, `[host]:port` for another port than 22,
 * comma lists, `*`/`?` wildcards, `!` negations, hashed names (`|1|salt|hash`, HMAC-SHA1 of the
 * name: `HashKnownHosts yes`, `ssh-keygen -H`), and the `@revoked` marker. `@cert-authority` lines
 * (host certificates) are not supported and never match.
 */

export interface KnownHostEntry {
  file: string;
  line: number;
  marker?: '@revoked' | '@cert-authority';
  patterns: string;
  keyType: string;
  key: Buffer;
}

export type HostKeyStatus = 'known' | 'unknown' | 'changed' | 'revoked';

export interface HostKeyVerdict {
  status: HostKeyStatus;
  /** How ssh names the host in known_hosts: `host`, or `[host]:port`. */
  hostName: string;
  /** The presented key's type (`ssh-ed25519`) and SHA-256 fingerprint (`SHA256:…`, as ssh prints it). */
  keyType: string;
  fingerprint: string;
  /** For `changed`: the entry that lists another key for the host. */
  entry?: KnownHostEntry;
  files: string[];
}

export function parseKnownHosts(text: string, file: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    const marker = fields[0] === '@revoked' || fields[0] === '@cert-authority' ? (fields.shift() as KnownHostEntry['marker']) : undefined;
    const [patterns, keyType, key64] = fields;
    if (!patterns || !keyType || !key64) return;
    const key = Buffer.from(key64, 'base64');
    if (!key.length) return;
    out.push({ file, line: i + 1, marker, patterns, keyType, key });
  });
  return out;
}

function wildcard(pattern: string, name: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 'i').test(name);
}

function hashedMatch(pattern: string, name: string): boolean {
  const [, salt64, hash64] = pattern.split('|').slice(1);
  if (!salt64 || !hash64) return false;
  const want = Buffer.from(hash64, 'base64');
  const got = createHmac('sha1', Buffer.from(salt64, 'base64')).update(name).digest();
  return want.length === got.length && timingSafeEqual(want, got);
}

/** Whether an entry's host field names `name`; a matching `!pattern` excludes it. */
export function hostMatches(patterns: string, name: string): boolean {
  if (patterns.startsWith('|1|')) return hashedMatch(patterns, name);
  let hit = false;
  for (const p of patterns.split(',')) {
    if (p.startsWith('!')) {
      if (wildcard(p.slice(1), name)) return false;
    } else if (wildcard(p, name)) hit = true;
  }
  return hit;
}

/** `host` on port 22, `[host]:port` otherwise: the name ssh writes and looks up. */
export function knownHostName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** The key type inside an SSH public key blob (its first string). */
export function keyTypeOf(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const n = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + n).toString('latin1') || 'unknown';
}

/** `SHA256:<base64, no padding>`, as `ssh-keygen -l` and ssh's prompts print it. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

export function readKnownHosts(files: string[]): KnownHostEntry[] {
  return files.flatMap((f) => (existsSync(f) ? parseKnownHosts(readFileSync(f, 'utf8'), f) : []));
}

/** The entries that name the host (revoked and CA lines excluded). */
export function entriesFor(entries: KnownHostEntry[], name: string): KnownHostEntry[] {
  return entries.filter((e) => !e.marker && hostMatches(e.patterns, name));
}

/** Judges a presented key as ssh does: revoked anywhere, listed for the host, another key listed, or none. */
export function verifyHostKey(entries: KnownHostEntry[], files: string[], name: string, blob: Buffer): HostKeyVerdict {
  const base = { hostName: name, keyType: keyTypeOf(blob), fingerprint: fingerprint(blob), files };
  if (entries.some((e) => e.marker === '@revoked' && e.key.equals(blob))) return { ...base, status: 'revoked' };
  const mine = entriesFor(entries, name);
  if (mine.some((e) => e.key.equals(blob))) return { ...base, status: 'known' };
  // Another key of the same type listed for the host: it changed (or someone is in the middle).
  const other = mine.find((e) => keyTypeOf(e.key) === base.keyType) ?? mine[0];
  return other ? { ...base, status: 'changed', entry: other } : { ...base, status: 'unknown' };
}

/** ssh2 algorithm names for a key type, so a host known by one key type is asked for that one first. */
export function hostKeyAlgorithms(keyType: string): string[] {
  return keyType === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [keyType];
}
