import { DIRECTIVES, REDIS_VERSION, type DirectiveSpec } from './redis-directives.js';

/*
 * Which redis.conf directives each Redis and Valkey version accepts (docs/validate.md, "Redis versions").
 * Data, kept by hand: the 7.0 table is generated from redis-server 7.0.15 (redis-directives.ts); every
 * other version is written as what it adds to or removes from a neighbour, read from that version's
 * src/config.c — the standardConfig table (createBoolConfig("name", "alias", …) and friends) plus the
 * directives loadServerConfigFromString() parses itself and its deprecated_configs list:
 *
 *   Redis 6.2   redis/redis tag 6.2.16 (ad950e4c32d9ebff932f157cfad135bde4fadce4)
 *   Redis 7.0   redis/redis tag 7.0.15 (f35f36a265403c07b119830aa4bb3b7d71653ec9) — same names as the generated table,
 *               plus two hidden ones CONFIG GET does not list
 *   Redis 7.2   redis/redis tag 7.2.6  (ae6a2aa95cd094b032e7a69b8b59f64dd1ed085f)
 *   Redis 7.4   redis/redis tag 7.4.1  (74b289a0e12f9f65a6daeec6a66cadc76792f644)
 *   Redis 8.0   redis/redis unstable at 4f8cdc2a1ea53e42955af758aabffee67cb455dd (after 8.0-M01, Oct 2024): no
 *               directive added or removed since 7.4; later 8.x releases may add some, so an 8.x server is
 *               not "exactly known"
 *   Valkey 7.2  valkey-io/valkey tag 7.2.7 (357191acb9a07876d39f98f951843de482586398): Redis 7.2's names
 *   Valkey 8.0  valkey-io/valkey tag 8.0.1 (4fbab5740bfef66918d6c2950dd2b3b4e07815a2)
 *
 * All of them are BSD-3-Clause sources; only directive names and value kinds are taken.
 */
export interface DirectiveTable {
  /** `Redis 7.2`, `Valkey 8.0`. */
  label: string;
  family: 'redis' | 'valkey';
  major: number;
  minor: number;
  names: ReadonlySet<string>;
}

/** Directives redis-server parses itself (redis-conf.ts checks them), known to every version here. */
const SELF_PARSED = ['include', 'rename-command', 'user', 'loadmodule'];
/** Hidden in 7.0 (CONFIG GET does not list them, so the generator does not see them), accepted all the same. */
const HIDDEN_70 = ['use-exit-on-panic', 'watchdog-period'];

/** What 7.0 added over 6.2 (so 6.2 lacks them), and what 7.0 removed. */
const ADDED_IN_70 = [
  'aof-disable-auto-gc',
  'aof-timestamp-enabled',
  'appenddirname',
  'bind-source-addr',
  'busy-reply-threshold',
  'cluster-allow-pubsubshard-when-down',
  'cluster-announce-hostname',
  'cluster-link-sendbuf-limit',
  'cluster-port',
  'cluster-preferred-endpoint-type',
  'enable-debug-command',
  'enable-module-command',
  'enable-protected-configs',
  'hash-max-listpack-entries',
  'hash-max-listpack-value',
  'latency-tracking',
  'latency-tracking-info-percentiles',
  'list-max-listpack-size',
  'loading-process-events-interval-bytes',
  'maxmemory-clients',
  'propagation-error-behavior',
  'repl-diskless-sync-max-replicas',
  'replica-ignore-disk-write-errors',
  'shutdown-on-sigint',
  'shutdown-on-sigterm',
  'shutdown-timeout',
  'socket-mark-id',
  'watchdog-period',
  'zset-max-listpack-entries',
  'zset-max-listpack-value',
];
const REMOVED_IN_70 = ['gopher-enabled'];

/** Directives newer than 7.0, with how their values are checked (from their create*Config kind). */
export const NEWER_SPECS: Record<string, DirectiveSpec> = {
  // Redis 7.2
  'cluster-announce-human-nodename': { kind: 'string', args: 1 },
  'req-res-logfile': { kind: 'string', args: 1 },
  'locale-collate': { kind: 'string', args: 1 },
  'client-default-resp': { kind: 'int', args: 1 },
  'cluster-ping-interval': { kind: 'int', args: 1 },
  'set-max-listpack-entries': { kind: 'int', args: 1 },
  'set-max-listpack-value': { kind: 'int', args: 1 },
  // Redis 7.4 (the *-cpulist names become primary; the 7.0 underscore names stay as aliases)
  'hide-user-data-from-log': { kind: 'bool', args: 1 },
  'server-cpulist': { kind: 'string', args: 1 },
  'bio-cpulist': { kind: 'string', args: 1 },
  'aof-rewrite-cpulist': { kind: 'string', args: 1 },
  'bgsave-cpulist': { kind: 'string', args: 1 },
  'max-new-connections-per-cycle': { kind: 'int', args: 1 },
  'max-new-tls-connections-per-cycle': { kind: 'int', args: 1 },
  // Valkey 8.0
  'dual-channel-replication-enabled': { kind: 'bool', args: 1 },
  'extended-redis-compatibility': { kind: 'bool', args: 1 },
  'enable-debug-assert': { kind: 'bool', args: 1 },
  'cluster-slot-stats-enabled': { kind: 'bool', args: 1 },
  unixsocketgroup: { kind: 'string', args: 1 },
  primaryuser: { kind: 'string', args: 1 },
  primaryauth: { kind: 'string', args: 1 },
  'cluster-announce-client-ipv4': { kind: 'string', args: 1 },
  'cluster-announce-client-ipv6': { kind: 'string', args: 1 },
  'debug-context': { kind: 'string', args: 1 },
  'availability-zone': { kind: 'string', args: 1 },
  'events-per-io-thread': { kind: 'int', args: 1 },
  'prefetch-batch-max-size': { kind: 'int', args: 1 },
  'cluster-blacklist-ttl': { kind: 'int', args: 1 },
};

const ADDED_IN_72 = [
  'cluster-announce-human-nodename',
  'req-res-logfile',
  'locale-collate',
  'client-default-resp',
  'cluster-ping-interval',
  'set-max-listpack-entries',
  'set-max-listpack-value',
];
const ADDED_IN_74 = [
  'hide-user-data-from-log',
  'server-cpulist',
  'bio-cpulist',
  'aof-rewrite-cpulist',
  'bgsave-cpulist',
  'max-new-connections-per-cycle',
  'max-new-tls-connections-per-cycle',
];
const ADDED_IN_VALKEY_80 = [
  'dual-channel-replication-enabled',
  'extended-redis-compatibility',
  'enable-debug-assert',
  'cluster-slot-stats-enabled',
  'hide-user-data-from-log',
  'unixsocketgroup',
  'primaryuser',
  'primaryauth',
  'cluster-announce-client-ipv4',
  'cluster-announce-client-ipv6',
  'server-cpulist',
  'bio-cpulist',
  'aof-rewrite-cpulist',
  'bgsave-cpulist',
  'debug-context',
  'availability-zone',
  'events-per-io-thread',
  'prefetch-batch-max-size',
  'max-new-connections-per-cycle',
  'max-new-tls-connections-per-cycle',
  'cluster-blacklist-ttl',
];

function table(label: string, family: DirectiveTable['family'], version: string, names: Iterable<string>): DirectiveTable {
  const [major, minor] = version.split('.').map(Number);
  return { label, family, major, minor, names: new Set(names) };
}

const R70 = [...Object.keys(DIRECTIVES), ...HIDDEN_70, ...SELF_PARSED];
const R62 = [...R70.filter((n) => !ADDED_IN_70.includes(n)), ...REMOVED_IN_70];
const R72 = [...R70, ...ADDED_IN_72];
const R74 = [...R72, ...ADDED_IN_74];

export const TABLES: readonly DirectiveTable[] = [
  table('Redis 6.2', 'redis', '6.2', R62),
  table(`Redis 7.0`, 'redis', REDIS_VERSION.split('.').slice(0, 2).join('.'), R70),
  table('Redis 7.2', 'redis', '7.2', R72),
  table('Redis 7.4', 'redis', '7.4', R74),
  table('Redis 8.0', 'redis', '8.0', R74),
  table('Valkey 7.2', 'valkey', '7.2', R72),
  table('Valkey 8.0', 'valkey', '8.0', [...R72, ...ADDED_IN_VALKEY_80]),
];

/** The version a server runs, as far as its image tag tells. */
export interface ServerVersion {
  /** `Redis 7.4 (redis:7-alpine)`, `an unknown version`. */
  label: string;
  table?: DirectiveTable;
  /**
   * The table is exactly what this server accepts (`redis:7.2.4`, `redis:7` → 7.4, the last 7.x). Not
   * exact: no tag, `latest`, or a line newer releases may still extend (`redis:8`, `valkey/valkey:8`).
   */
  exact: boolean;
  /** Not Redis or Valkey (KeyDB…): directives of its own are not refused here, only warned about. */
  foreign?: boolean;
}

const UNKNOWN: ServerVersion = { label: 'an unknown version', exact: false };

function find(family: DirectiveTable['family'], major: number, minor: number): DirectiveTable | undefined {
  return TABLES.find((t) => t.family === family && t.major === major && t.minor === minor);
}

/**
 * `redis:7-alpine` → Redis 7.4 (the last 7.x), `redis:6.2` → 6.2, `valkey/valkey:8` → Valkey 8.0 (not
 * exact), `bitnami/redis:7.2.4-debian-12-r9` → 7.2, `redis/redis-stack-server:7.2.0-v10` → 7.2; `redis`,
 * `redis:latest`, `redis:alpine` → the newest table, not exact; anything else → unknown.
 */
export function versionOfImage(image: string | undefined): ServerVersion {
  if (!image) return UNKNOWN;
  const noDigest = image.replace(/@.*$/, '');
  const tagMatch = /:([^/:]+)$/.exec(noDigest);
  const repo = (tagMatch ? noDigest.slice(0, -tagMatch[0].length) : noDigest).split('/').pop() ?? '';
  const family = repo === 'valkey' ? 'valkey' : /^redis(-stack(-server)?)?$/.test(repo) ? 'redis' : undefined;
  if (!family) return /keydb|dragonfly|garnet/.test(repo) ? { label: `an unknown version (${image}, not Redis)`, exact: false, foreign: true } : UNKNOWN;
  const tag = tagMatch?.[1];
  const newest = [...TABLES].reverse().find((t) => t.family === family)!;
  const v = tag ? /^v?(\d+)(?:\.(\d+))?/.exec(tag) : undefined;
  if (!v) {
    // No version in the tag (`latest`, `alpine`, `bookworm`): whatever is newest when pulled.
    if (tag && /\d/.test(tag.split('-')[0]) && !/^(alpine|bookworm|bullseye|latest)/.test(tag)) return UNKNOWN;
    return { label: `${newest.label} or newer (${image})`, table: newest, exact: false };
  }
  const major = Number(v[1]);
  const minor = v[2] === undefined ? undefined : Number(v[2]);
  const of = (t: DirectiveTable | undefined, exact: boolean): ServerVersion =>
    t ? { label: `${t.label}${exact ? '' : ' or a later release'} (${image})`, table: t, exact } : { label: `an unknown version (${image})`, exact: false };
  if (family === 'redis') {
    if (major === 6) return minor === undefined || minor === 2 ? of(find('redis', 6, 2), true) : of(undefined, false);
    if (major === 7) return minor === undefined ? of(find('redis', 7, 4), true) : of(find('redis', 7, minor), true);
    if (major === 8) return of(find('redis', 8, 0), false);
    return of(undefined, false);
  }
  if (major === 7) return minor === undefined || minor === 2 ? of(find('valkey', 7, 2), true) : of(undefined, false);
  if (major === 8) return of(find('valkey', 8, 0), minor === 0);
  return of(undefined, false);
}

export const UNKNOWN_VERSION = UNKNOWN;

/** The value check for a directive: the 7.0 table's, else what the newer version's config.c says. */
export function specOf(name: string): DirectiveSpec | undefined {
  return DIRECTIVES[name] ?? NEWER_SPECS[name];
}

/** Every table that knows this directive. */
export function tablesKnowing(name: string): DirectiveTable[] {
  return TABLES.filter((t) => t.names.has(name));
}

export type DirectiveVerdict = { ok: true } | { ok: false; severity: 'error' | 'warning'; message: string };

/**
 * Is this directive name accepted by the version the server runs? Exactly known version: an error when
 * it does not know it. Otherwise a warning when only some versions know it (or none does, but newer
 * releases might and it is not a near-miss of a known name); an error when no version knows it and it is
 * a typo of one that does, or not a directive name at all.
 */
export function judgeDirectiveName(name: string, shownName: string, version: ServerVersion): DirectiveVerdict {
  if (version.table?.names.has(name)) return { ok: true };
  const knowing = tablesKnowing(name);
  if (!version.table && knowing.length === TABLES.length) return { ok: true };
  const list = describeTables(knowing);
  if (version.table && version.exact) {
    return {
      ok: false,
      severity: 'error',
      message: knowing.length
        ? `"${shownName}" is a directive of ${list}, not of ${version.label}: redis-server refuses to start ("Bad directive or wrong number of arguments")`
        : `unknown directive "${shownName}"${didYouMean(name)} (Bad directive or wrong number of arguments)`,
    };
  }
  if (knowing.length)
    return {
      ok: false,
      severity: 'warning',
      message: `"${shownName}" is known to ${list} only, and this server runs ${version.label}: older versions refuse to start with it`,
    };
  const suggestion = didYouMean(name);
  if (!version.foreign && (suggestion || !/^[a-z0-9][a-z0-9_.-]*$/.test(name) || !version.table))
    return { ok: false, severity: 'error', message: `unknown directive "${shownName}"${suggestion} (Bad directive or wrong number of arguments)` };
  return {
    ok: false,
    severity: 'warning',
    message: `"${shownName}" is not a directive of any Redis or Valkey version rqctl knows (up to ${TABLES[TABLES.length - 1].label}); this server runs ${version.label}, which may know it`,
  };
}

/** `Redis 7.2, 7.4, 8.0 and Valkey 7.2, 8.0`. */
function describeTables(tables: DirectiveTable[]): string {
  const parts: string[] = [];
  for (const family of ['redis', 'valkey'] as const) {
    const mine = tables.filter((t) => t.family === family);
    if (mine.length) parts.push(`${mine[0].label.split(' ')[0]} ${mine.map((t) => `${t.major}.${t.minor}`).join(', ')}`);
  }
  return parts.join(' and ');
}

function didYouMean(name: string): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const t of TABLES)
    for (const known of t.names) {
      if (Math.abs(known.length - name.length) >= bestDistance) continue;
      const d = distance(name, known, bestDistance);
      if (d < bestDistance) {
        best = known;
        bestDistance = d;
      }
    }
  return best ? ` (did you mean "${best}"?)` : '';
}

/** Levenshtein distance, giving up (returning `limit`) once it cannot be below it. */
function distance(a: string, b: string, limit: number): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      rowMin = Math.min(rowMin, cur[j]);
    }
    if (rowMin >= limit) return limit;
    prev = cur;
  }
  return prev[b.length];
}
