import { Cluster, type Redis } from 'ioredis';
import type { Config } from '../config/resolve.js';
import { ROLES, type Role } from '../config/endpoints.js';
import { ExitCode, RqctlError } from '../errors.js';
import type { RedisClient } from './connect.js';
import { groupByServer } from './target.js';

/**
 * MONITOR streams every command a server runs to one client. It costs the server real throughput
 * (every command is formatted and written once more), so rqctl never leaves it open: a session is
 * always bounded in time and in lines, and its connection is closed when it ends.
 */

export const DEFAULT_MONITOR_DURATION_MS = 10_000;
export const DEFAULT_MONITOR_LIMIT = 1000;

export interface MonitorLine {
  /** Unix time with microseconds, as MONITOR prints it. */
  time: string;
  db: number;
  /** `ip:port`, `lua`, `unix:/path`. */
  client: string;
  /** Arguments as MONITOR prints them (escaped, without quotes), secrets masked. */
  args: string[];
  /** The whole line, like `redis-cli monitor` shows it, secrets masked. */
  line: string;
  /** Which monitored target the line came from (a role name, or host:port of a cluster master). */
  source: string;
}

export interface MonitorTarget {
  /** Label for the lines of this target. */
  label: string;
  client: RedisClient;
  /** Only lines of this DB (a role's DB on a shared server). */
  db?: number;
}

export interface RedisMonitorOptions {
  durationMs?: number;
  limit?: number;
  /** Case-insensitive text the (masked) line must contain. */
  match?: string;
  signal?: AbortSignal;
  onLine: (line: MonitorLine) => void;
  /** Called once every MONITOR connection is in place (commands from then on are seen). */
  onStart?: () => void;
}

export interface MonitorSummary {
  /** Lines passed to onLine. */
  lines: number;
  /** Lines seen before filtering. */
  seen: number;
  elapsedMs: number;
  stoppedBy: 'duration' | 'limit' | 'signal' | 'connection';
  error?: string;
}

/** One server `rqctl monitor` watches, for the roles on it. */
export interface MonitorServer {
  /** The roles on this server; the first one's connection runs MONITOR. */
  roles: Role[];
  /** How the server is shown (URL without password, cluster or Sentinel names). */
  display: string;
  /** Only lines of this DB (`--role` on a standalone or Sentinel server). */
  db?: number;
  cluster: boolean;
}

export interface MonitorPlan {
  servers: MonitorServer[];
  /** Several servers (or cluster masters): each line says which one it came from. */
  tagLines: boolean;
}

/** What `rqctl monitor [--role R]` watches: every server of the three roles, or one role's server and DB. */
export function planMonitor(config: Config, only?: Role): MonitorPlan {
  const servers = groupByServer(config, only ? [only] : ROLES).map((roles): MonitorServer => {
    const ep = config.roles[roles[0]];
    return { roles, display: ep.display, ...(only && ep.kind !== 'cluster' ? { db: ep.db } : {}), cluster: ep.kind === 'cluster' };
  });
  return { servers, tagLines: servers.length > 1 || servers.some((s) => s.cluster) };
}

/** Runs a plan through the clients of each server's first role (see `runRedisMonitor`). */
export function monitorServers(plan: MonitorPlan, clients: Partial<Record<Role, RedisClient>>, opts: RedisMonitorOptions): Promise<MonitorSummary> {
  const targets = plan.servers.map((s): MonitorTarget => ({ label: s.roles.join('+'), client: clients[s.roles[0]]!, db: s.db }));
  return runRedisMonitor(targets, opts);
}

const MASK = '****';

/** Splits MONITOR's `"a" "b\"c"` into its quoted tokens (kept escaped, quotes removed). */
export function tokenizeMonitorArgs(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    if (text[i] !== '"') {
      i++;
      continue;
    }
    let j = i + 1;
    let tok = '';
    while (j < text.length && text[j] !== '"') {
      if (text[j] === '\\' && j + 1 < text.length) {
        tok += text[j] + text[j + 1];
        j += 2;
      } else tok += text[j++];
    }
    out.push(tok);
    i = j + 1;
  }
  return out;
}

const SECRET_CONFIG = new Set(['requirepass', 'masterauth', 'tls-key-file-pass', 'tls-client-key-file-pass', 'sentinel-pass']);

/**
 * Masks credentials in one command's arguments: AUTH, HELLO … AUTH, MIGRATE … AUTH/AUTH2, CONFIG SET
 * requirepass/masterauth, ACL SETUSER password rules, SENTINEL SET … auth-pass. Redis 6.2+ already
 * redacts some of these itself; older servers print them in clear.
 */
export function maskArgs(args: string[]): string[] {
  if (!args.length) return args;
  const a = [...args];
  const lower = a.map((x) => x.toLowerCase());
  const cmd = lower[0];
  if (cmd === 'auth') {
    for (let i = a.length === 3 ? 2 : 1; i < a.length; i++) a[i] = MASK;
  } else if (cmd === 'hello') {
    const i = lower.indexOf('auth', 2);
    if (i > 0 && i + 2 < a.length) a[i + 2] = MASK;
  } else if (cmd === 'migrate') {
    const i = lower.indexOf('auth');
    if (i > 0 && i + 1 < a.length) a[i + 1] = MASK;
    const j = lower.indexOf('auth2');
    if (j > 0 && j + 2 < a.length) a[j + 2] = MASK;
  } else if (cmd === 'config' && lower[1] === 'set') {
    for (let i = 2; i + 1 < a.length; i += 2) if (SECRET_CONFIG.has(lower[i])) a[i + 1] = MASK;
  } else if (cmd === 'acl' && lower[1] === 'setuser') {
    for (let i = 3; i < a.length; i++) if (/^[><#!]/.test(a[i])) a[i] = a[i][0] + MASK;
  } else if (cmd === 'sentinel' && lower[1] === 'set') {
    for (let i = 3; i + 1 < a.length; i += 2) if (lower[i] === 'auth-pass') a[i + 1] = MASK;
  }
  return a;
}

/**
 * Rebuilds MONITOR's line from what ioredis hands over (it splits on `" "` and unescapes `\"`);
 * that split is undone exactly by joining again, then the arguments are tokenized properly.
 */
export function monitorLine(timestamp: string, rawArgs: string[], source: string, database: string, label: string): MonitorLine {
  const argsText = `"${rawArgs.map((x) => x.replace(/"/g, '\\"')).join('" "')}"`;
  const args = maskArgs(tokenizeMonitorArgs(argsText));
  const line = `${timestamp} [${database} ${source}] ${args.map((x) => `"${x}"`).join(' ')}`;
  return { time: timestamp, db: Number(database), client: source, args, line, source: label };
}

/** Runs MONITOR on every target (each master of a cluster) until the duration, the limit or the signal. */
export async function runRedisMonitor(targets: MonitorTarget[], opts: RedisMonitorOptions): Promise<MonitorSummary> {
  const durationMs = opts.durationMs ?? DEFAULT_MONITOR_DURATION_MS;
  const limit = opts.limit ?? DEFAULT_MONITOR_LIMIT;
  const match = opts.match?.toLowerCase();
  const started = Date.now();
  const summary: MonitorSummary = { lines: 0, seen: 0, elapsedMs: 0, stoppedBy: 'duration' };
  const monitors: Redis[] = [];
  let finish!: (why: MonitorSummary['stoppedBy'], error?: string) => void;
  const done = new Promise<void>((resolve) => {
    let finished = false;
    finish = (why, error) => {
      if (finished) return;
      finished = true;
      summary.stoppedBy = why;
      if (error) summary.error = error;
      resolve();
    };
  });
  const timer = setTimeout(() => finish('duration'), durationMs);
  const onAbort = () => finish('signal');
  opts.signal?.addEventListener('abort', onAbort);
  if (opts.signal?.aborted) finish('signal');
  try {
    const nodes = targets.flatMap((t) =>
      t.client instanceof Cluster
        ? t.client.nodes('master').map((n) => ({ ...t, node: n as Redis, label: `${n.options.host}:${n.options.port}` }))
        : [{ ...t, node: t.client as Redis }],
    );
    await Promise.all(
      nodes.map(async (t) => {
        let m: Redis;
        try {
          m = await t.node.monitor();
        } catch (e) {
          const msg = String((e as Error)?.message ?? e);
          throw new RqctlError(
            'REDIS_MONITOR',
            /NOPERM|NOAUTH|WRONGPASS/i.test(msg) ? ExitCode.unreachable : ExitCode.internal,
            `MONITOR refused on ${t.label}: ${msg.split('\n')[0]}`,
            {
              hint: /NOPERM/i.test(msg) ? 'the ACL user needs +monitor' : undefined,
              cause: e,
            },
          );
        }
        monitors.push(m);
        m.on('error', (e: Error) => finish('connection', e.message));
        m.on('end', () => finish('connection', 'the server closed the MONITOR connection'));
        m.on('monitor', (time: string, args: string[], source: string, database: string) => {
          if (summary.lines >= limit) return;
          if (t.db !== undefined && Number(database) !== t.db) return;
          summary.seen++;
          const l = monitorLine(time, args, source, database, t.label);
          if (match && !l.line.toLowerCase().includes(match)) return;
          summary.lines++;
          opts.onLine(l);
          if (summary.lines >= limit) finish('limit');
        });
      }),
    );
    opts.onStart?.();
    await done;
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
    for (const m of monitors) {
      m.removeAllListeners('end');
      m.removeAllListeners('monitor');
      m.on('error', () => {});
      m.disconnect();
    }
    summary.elapsedMs = Date.now() - started;
  }
  return summary;
}
