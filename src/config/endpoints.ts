import type { ParsedConfig } from './schema.js';

export const ROLES = ['queue', 'cache', 'session'] as const;
export type Role = (typeof ROLES)[number];

export interface HostPort {
  host: string;
  port: number;
}

/** Where one role's data lives. Derived from the redis.* settings; passwords stay out of `display`. */
export interface RoleEndpoint {
  role: Role;
  kind: 'standalone' | 'sentinel' | 'cluster';
  host: string;
  port: number;
  tls: boolean;
  username?: string;
  password?: string;
  /** Where the password came from, for messages: `REDIS_PASSWORD`, `REDIS_URL`, `--redis-url`, `<file> redis.url`. */
  passwordFrom?: string;
  db: number;
  sentinels?: HostPort[];
  sentinelMaster?: string;
  nodes?: HostPort[];
  /** The URL with the password masked, for output and logs. */
  display: string;
}
export type RoleEndpoints = Readonly<Record<Role, RoleEndpoint>>;

interface ParsedUrl {
  host: string;
  port: number;
  tls: boolean;
  username?: string;
  password?: string;
  passwordFrom?: string;
  db?: number;
}

export interface EndpointProblem {
  path: string;
  message: string;
}

/**
 * Parses a redis:// URL strictly. ioredis accepts `redis://h/16` and `redis://h/abc` and silently uses
 * DB 0, so the DB, the port and the scheme are checked here.
 */
export function parseRedisUrl(text: string): ParsedUrl | string {
  const portText = /^[a-z]+:\/\/(?:[^@/]*@)?(?:\[[^\]]*\]|[^:/?#]*):(\d+)/i.exec(text)?.[1];
  if (portText !== undefined && (Number(portText) < 1 || Number(portText) > 65535)) return `port ${portText} is out of range 1–65535`;
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return `not a valid URL (expected redis://[user:pass@]host:port[/db])`;
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') return `unsupported scheme "${u.protocol.replace(/:$/, '')}" (expected redis:// or rediss://)`;
  if (!u.hostname) return 'has no host';
  const port = u.port === '' ? 6379 : Number(u.port);
  let db: number | undefined;
  const path = u.pathname.replace(/^\//, '');
  if (path !== '') {
    if (!/^\d+$/.test(path) || Number(path) > 15) return `database "${decodeURIComponent(path)}" is not an integer 0–15`;
    db = Number(path);
  }
  const dbParam = u.searchParams.get('db');
  if (dbParam !== null) {
    if (!/^\d+$/.test(dbParam) || Number(dbParam) > 15) return `database "${dbParam}" is not an integer 0–15`;
    db = Number(dbParam);
  }
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  return {
    host,
    port,
    tls: u.protocol === 'rediss:',
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db,
  };
}

function parseHostList(text: string): HostPort[] | string {
  const out: HostPort[] = [];
  for (const item of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(item) ?? /^([^:]+)$/.exec(item);
    if (!m) return `"${item}" is not host:port`;
    const port = m[2] ? Number(m[2]) : 26379;
    if (port < 1 || port > 65535) return `"${item}": port out of range 1–65535`;
    out.push({ host: m[1], port });
  }
  if (!out.length) return 'lists no host:port';
  return out;
}

export function maskedUrl(e: { tls: boolean; host: string; port: number; username?: string; password?: string; db: number }): string {
  const auth = e.username || e.password ? `${e.username ? encodeURIComponent(e.username) : ''}${e.password ? ':****' : ''}@` : '';
  const host = e.host.includes(':') ? `[${e.host}]` : e.host;
  return `${e.tls ? 'rediss' : 'redis'}://${auth}${host}:${e.port}/${e.db}`;
}

/** Query parameters that carry a credential in URLs (webhooks, proxies, provider base URLs). */
const SECRET_QUERY = /([?&](?:token|access_token|auth|auth_token|api_key|apikey|key|secret|client_secret|password|pass|pwd|sig|signature)=)[^&\s#"'<>]+/gi;

/**
 * Masks credentials in any URL-looking text: the password of `scheme://user:password@host` (every
 * scheme: redis, https webhooks, a proxy in a provider's base URL) and the value of query parameters
 * such as `token=` or `api_key=`. Used on every log line, error and `config show`.
 */
export function maskSecrets(text: string): string {
  // Every log line passes here (two per job in a worker): most hold no URL at all.
  if (!text.includes('://')) return text;
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:@/\s]*:)([^@\s/]+)@/gi, '$1****@').replace(SECRET_QUERY, '$1****');
}

type RedisSettings = ParsedConfig['redis'];

/**
 * The three roles' endpoints from the redis.* settings. `sourceOf` names where a setting came from
 * (`REDIS_URL`, `--redis-url`, `rqctl.config.yaml redis.url`), so a refused password can say which
 * one to fix.
 */
export function deriveRoles(
  redis: RedisSettings,
  explicitlySet: (path: string) => boolean,
  sourceOf: (path: string) => string | undefined = () => undefined,
): { roles: RoleEndpoints; problems: EndpointProblem[] } {
  const problems: EndpointProblem[] = [];
  const roleDb: Record<Role, number> = { queue: redis.db, cache: redis.cacheDb, session: redis.sessionDb };
  const dbPath: Record<Role, string> = { queue: 'redis.db', cache: 'redis.cacheDb', session: 'redis.sessionDb' };
  const roleUrlPath: Record<Role, string> = { queue: 'redis.queueUrl', cache: 'redis.cacheUrl', session: 'redis.sessionUrl' };
  const roleUrl: Record<Role, string | undefined> = { queue: redis.queueUrl, cache: redis.cacheUrl, session: redis.sessionUrl };

  const passwordSetting = redis.password ? (sourceOf('redis.password') ?? 'REDIS_PASSWORD') : undefined;
  /** A URL's own password, else REDIS_PASSWORD. */
  const credentials = (p: ParsedUrl, urlPath: string, defaultLabel: string) =>
    p.password
      ? { username: p.username ?? redis.username, password: p.password, passwordFrom: sourceOf(urlPath) ?? defaultLabel }
      : { username: p.username ?? redis.username, password: redis.password, passwordFrom: passwordSetting };
  let base: ParsedUrl = { host: redis.host, port: redis.port, tls: false, username: redis.username, password: redis.password, passwordFrom: passwordSetting };
  if (redis.url) {
    const p = parseRedisUrl(redis.url);
    if (typeof p === 'string') problems.push({ path: 'redis.url', message: p });
    else {
      base = { ...p, ...credentials(p, 'redis.url', 'REDIS_URL') };
      if (p.db !== undefined) roleDb.queue = p.db;
    }
  }

  let sentinels: HostPort[] | undefined;
  if (redis.sentinels) {
    const s = parseHostList(redis.sentinels);
    if (typeof s === 'string') problems.push({ path: 'redis.sentinels', message: s });
    else sentinels = s;
    if (!redis.sentinelMaster) problems.push({ path: 'redis.sentinelMaster', message: 'REDIS_SENTINEL_MASTER is required with REDIS_SENTINELS' });
  }
  let nodes: HostPort[] | undefined;
  if (redis.cluster) {
    if (redis.clusterNodes) {
      const n = parseHostList(redis.clusterNodes.includes(':') ? redis.clusterNodes : `${redis.clusterNodes}:6379`);
      if (typeof n === 'string') problems.push({ path: 'redis.clusterNodes', message: n });
      else nodes = n;
    } else nodes = [{ host: base.host, port: base.port }];
    if (sentinels) problems.push({ path: 'redis.cluster', message: 'Cluster and Sentinel cannot be combined' });
    // A cluster has only DB 0: roles are separated by key prefix instead.
    for (const role of ['queue', 'cache', 'session'] as const) {
      const explicit = role === 'queue' ? explicitlySet('redis.db') || (redis.url && parseRedisUrlDb(redis.url) !== undefined) : explicitlySet(dbPath[role]);
      if (roleDb[role] !== 0 && explicit)
        problems.push({ path: dbPath[role], message: `a Redis Cluster has only DB 0 (got ${roleDb[role]}); roles are separated by key prefix` });
      roleDb[role] = 0;
    }
  }

  const make = (role: Role): RoleEndpoint => {
    let ep: ParsedUrl = base;
    let db = roleDb[role];
    let kind: RoleEndpoint['kind'] = nodes ? 'cluster' : sentinels ? 'sentinel' : 'standalone';
    const own = roleUrl[role];
    if (own) {
      const p = parseRedisUrl(own);
      if (typeof p === 'string') problems.push({ path: roleUrlPath[role], message: p });
      else {
        ep = { ...p, ...credentials(p, roleUrlPath[role], `REDIS_${role.toUpperCase()}_URL`) };
        if (p.db !== undefined) db = p.db;
        kind = 'standalone';
        if (redis.cluster && db !== 0) problems.push({ path: roleUrlPath[role], message: `a Redis Cluster has only DB 0 (got ${db})` });
        if (redis.cluster) {
          kind = 'cluster';
        }
      }
    }
    const endpoint: RoleEndpoint = {
      role,
      kind,
      host: ep.host,
      port: ep.port,
      tls: ep.tls,
      username: ep.username,
      password: ep.password,
      ...(ep.password ? { passwordFrom: ep.passwordFrom } : {}),
      db,
      display: '',
    };
    if (kind === 'sentinel') {
      endpoint.sentinels = sentinels;
      endpoint.sentinelMaster = redis.sentinelMaster;
      endpoint.display = `sentinel://${sentinels?.map((s) => `${s.host}:${s.port}`).join(',')}/${redis.sentinelMaster}/${db}${ep.password ? ' (password ****)' : ''}`;
    } else if (kind === 'cluster') {
      endpoint.nodes = own ? [{ host: ep.host, port: ep.port }] : nodes;
      endpoint.display = `cluster://${endpoint.nodes?.map((s) => `${s.host}:${s.port}`).join(',')}${ep.password ? ' (password ****)' : ''}`;
    } else endpoint.display = maskedUrl({ ...ep, db });
    return endpoint;
  };
  return { roles: { queue: make('queue'), cache: make('cache'), session: make('session') }, problems };
}

function parseRedisUrlDb(url: string): number | undefined {
  const p = parseRedisUrl(url);
  return typeof p === 'string' ? undefined : p.db;
}

/** Two roles on the same server (same host, port and transport), whatever their DB. */
export function sameServer(a: RoleEndpoint, b: RoleEndpoint): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'sentinel') return a.sentinelMaster === b.sentinelMaster;
  if (a.kind === 'cluster') return JSON.stringify(a.nodes) === JSON.stringify(b.nodes);
  return a.host === b.host && a.port === b.port;
}
