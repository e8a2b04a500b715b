import { ROLES, sameServer, type Role } from '../config/endpoints.js';
import { compareVersions, pairsToObject, parseInfo } from '../redis/info.js';
import { serverAddress, type RedisClient } from '../redis/connect.js';
import type { CheckGroup, CheckResult, DoctorContext } from './types.js';
import { mayRun } from '../redis/acl/probes.js';
import { EVICTION_FIX, evictionProblem, needsAppendOnly, PERSISTENCE_FIX, rolesAtRiskOfEviction } from '../redis/facts.js';

/** The roles that share one server, and the facts read from it once. */
export interface ServerFacts {
  roles: Role[];
  client: RedisClient;
  info: Record<string, string>;
  /** CONFIG GET results; empty when CONFIG is renamed away or denied. */
  config: Record<string, string>;
  authenticated: boolean;
  /** The server's `host:port` as connected (through Sentinel: the master it named). */
  address?: string;
}

const cache = new WeakMap<DoctorContext, Promise<ServerFacts[]>>();

/** Groups the connected roles by server and reads INFO/CONFIG once per server. */
export function serverFacts(ctx: DoctorContext): Promise<ServerFacts[]> {
  let p = cache.get(ctx);
  if (!p) {
    p = (async () => {
      const groups: Role[][] = [];
      for (const role of ROLES) {
        if (!ctx.clients[role]) continue;
        const g = groups.find((g) => sameServer(ctx.config.roles[g[0]], ctx.config.roles[role]));
        if (g) g.push(role);
        else groups.push([role]);
      }
      return Promise.all(
        groups.map(async (roles) => {
          const client = ctx.clients[roles[0]]!;
          const info = parseInfo(String(await client.info()));
          let config: Record<string, string> = {};
          try {
            const user = ctx.config.roles[roles[0]].username ?? 'default';
            if (await mayRun(client, user, ['config', 'get', '*'])) config = pairsToObject(await client.call('CONFIG', 'GET', '*'));
          } catch {
            /* CONFIG renamed or denied: fine on a hardened server */
          }
          return { roles, client, info, config, authenticated: !!ctx.config.roles[roles[0]].password, address: serverAddress(client) };
        }),
      );
    })();
    cache.set(ctx, p);
  }
  return p;
}

/** Check id for a per-server fact: plain for the queue's server, `@role` for the others. */
function idFor(name: string, s: ServerFacts): string {
  return s.roles.includes('queue') ? name : `${name}@${s.roles[0]}`;
}

function label(ctx: DoctorContext, s: ServerFacts): string {
  const ep = ctx.config.roles[s.roles[0]];
  const at = ep.kind === 'standalone' ? `${ep.host}:${ep.port}` : ep.kind === 'sentinel' && s.address ? `${ep.display}, master ${s.address}` : ep.display;
  return `${at} (${s.roles.join(', ')})`;
}

function isLoopback(addr: string): boolean {
  const a = addr.replace(/^-/, '');
  return a === 'localhost' || a.startsWith('127.') || a === '::1';
}

async function flushCommandsAllowed(client: RedisClient): Promise<'disabled' | 'acl-denied' | 'allowed' | 'unknown'> {
  // A user without COMMAND INFO (an ACL user of docs/acl.md) is asked through ACL DRYRUN below.
  const info = (await client.call('COMMAND', 'INFO', 'FLUSHDB', 'FLUSHALL').catch(() => undefined)) as unknown[] | undefined;
  if (Array.isArray(info) && info.every((x) => x === null)) return 'disabled';
  try {
    const user = String(await client.call('ACL', 'WHOAMI'));
    const results = await Promise.all(['FLUSHDB', 'FLUSHALL'].map((c) => client.call('ACL', 'DRYRUN', user, c).then(String, (e: Error) => e.message)));
    if (results.every((r) => /not found|unknown command/i.test(r))) return 'disabled';
    if (results.every((r) => r !== 'OK')) return 'acl-denied';
    return 'allowed';
  } catch {
    return 'unknown';
  }
}

/**
 * Every role writes (BullMQ and the scheduler the queue, the app its sessions, the fetch jobs the
 * cache): a read-only replica answers PING and INFO like a master, then refuses each write (READONLY).
 */
function writableCheck(where: string, s: ServerFacts): CheckResult {
  const id = idFor('writable', s);
  if (s.info.role !== 'slave') return { id, status: 'ok', message: `${where} is a master: it takes writes` };
  const of = `${s.info.master_host ?? '?'}:${s.info.master_port ?? '?'}`;
  const fix =
    'point the role at the master (REDIS_URL / REDIS_HOST), or connect through Sentinel (REDIS_SENTINELS, REDIS_SENTINEL_MASTER) so rqctl follows a failover';
  if (s.config['replica-read-only'] === 'no')
    return {
      id,
      status: 'warn',
      message: `${where} is a writable replica of ${of} (replica-read-only no): what rqctl writes here is lost at the next sync with the master`,
      fix,
    };
  return {
    id,
    status: 'fail',
    message: `${where} is a read-only replica of ${of}: workers, the scheduler and the app cannot write to it (READONLY)`,
    fix,
  };
}

/** A server at its maxmemory under noeviction refuses every write (OOM): queued jobs cannot move. */
function memoryFullCheck(where: string, s: ServerFacts, policy: string): CheckResult | undefined {
  const maxmemory = Number(s.info.maxmemory ?? s.config.maxmemory ?? 0);
  const used = Number(s.info.used_memory ?? 0);
  if (!(maxmemory > 0) || policy !== 'noeviction') return undefined;
  const id = idFor('memory-full', s);
  const pct = Math.round((used / maxmemory) * 100);
  const shown = `${s.info.used_memory_human ?? used} of maxmemory ${s.info.maxmemory_human ?? maxmemory} (${pct}%)`;
  const fix = 'raise maxmemory (below the container limit), free memory (`rqctl failed flush --hours 24`, `rqctl keys big`), and keep noeviction';
  if (used >= maxmemory) return { id, status: 'fail', message: `${where} is full: ${shown} under noeviction, so it refuses every write (OOM)`, fix };
  if (used >= maxmemory * 0.9) return { id, status: 'warn', message: `${where} is nearly full: ${shown}; under noeviction it will refuse writes`, fix };
  return { id, status: 'ok', message: `${where}: ${shown} used` };
}

export const redisChecks: CheckGroup = async (ctx) => {
  const out: CheckResult[] = [];
  const servers = await serverFacts(ctx);
  for (const s of servers) {
    const where = label(ctx, s);
    const version = s.info.redis_version ?? '0';
    if (compareVersions(version, '5.0') < 0)
      out.push({ id: idFor('version', s), status: 'fail', message: `${where} runs Redis ${version}; BullMQ needs 5.0 or newer`, fix: 'upgrade Redis to 7.x' });
    else if (compareVersions(version, '6.2') < 0)
      out.push({
        id: idFor('version', s),
        status: 'warn',
        message: `${where} runs Redis ${version}; 6.2 or newer is recommended`,
        fix: 'upgrade Redis to 7.x',
      });
    else out.push({ id: idFor('version', s), status: 'ok', message: `${where} runs Redis ${version}` });

    out.push(writableCheck(where, s));
    const policy = s.info.maxmemory_policy ?? s.config['maxmemory-policy'] ?? 'unknown';
    const full = memoryFullCheck(where, s, policy);
    if (full) out.push(full);
    const atRisk = rolesAtRiskOfEviction(s.roles, policy);
    if (s.roles.includes('queue') || s.roles.includes('session')) {
      if (!atRisk.length) out.push({ id: idFor('eviction-policy', s), status: 'ok', message: `${where}: maxmemory-policy ${policy}` });
      else
        out.push({
          id: idFor('eviction-policy', s),
          status: 'fail',
          message: evictionProblem(where, atRisk, policy),
          fix: `set \`maxmemory-policy noeviction\` on this server (redis.conf, or CONFIG SET maxmemory-policy noeviction) and ${EVICTION_FIX}`,
        });
    }
    if (needsAppendOnly(s.roles)) {
      if (s.info.aof_enabled === '1') out.push({ id: 'persistence', status: 'ok', message: `${where}: appendonly yes` });
      else
        out.push({
          id: 'persistence',
          status: 'warn',
          message: `${where} holds the queue without AOF (appendonly no): a crash or restart loses every queued job since the last snapshot`,
          fix: `${PERSISTENCE_FIX} (CONFIG SET appendonly yes, and in redis.conf)`,
        });
    }
    const maxmemory = Number(s.info.maxmemory ?? s.config.maxmemory ?? 0);
    if (maxmemory > 0) out.push({ id: idFor('maxmemory', s), status: 'ok', message: `${where}: maxmemory ${s.info.maxmemory_human ?? maxmemory}` });
    else
      out.push({
        id: idFor('maxmemory', s),
        status: 'warn',
        message: `${where} has no maxmemory: it grows until the host or container runs out of memory`,
        fix: 'set `maxmemory` (e.g. 256mb for the cache) below the container memory limit',
      });

    const flush = await flushCommandsAllowed(s.client);
    if (flush === 'disabled' || flush === 'acl-denied')
      out.push({ id: idFor('flush-commands', s), status: 'ok', message: `${where}: FLUSHDB/FLUSHALL ${flush === 'disabled' ? 'disabled' : 'denied by ACL'}` });
    else
      out.push({
        id: idFor('flush-commands', s),
        status: 'warn',
        message: `${where}: FLUSHDB/FLUSHALL are ${flush === 'allowed' ? 'enabled' : 'possibly enabled'}: one mistyped command empties the queue, cache and sessions`,
        fix: 'add `rename-command FLUSHDB ""` and `rename-command FLUSHALL ""` to redis.conf, or deny them with ACL (-flushdb -flushall)',
      });

    if (s.authenticated) out.push({ id: idFor('auth', s), status: 'ok', message: `${where} requires a password` });
    else {
      const bind = (s.config.bind ?? '').split(/\s+/).filter(Boolean);
      const protectedMode = s.config['protected-mode'];
      const known = bind.length > 0 || protectedMode !== undefined;
      const openBind = bind.length === 0 || bind.some((a) => !isLoopback(a));
      if (known && openBind && (protectedMode === 'no' || bind.some((a) => ['0.0.0.0', '*', '::', '-::*', '*'].includes(a.replace(/^-/, ''))))) {
        out.push({
          id: idFor('auth', s),
          status: 'fail',
          message: `${where} accepts connections without a password on ${bind.join(' ') || 'all interfaces'} (protected-mode ${protectedMode ?? '?'})`,
          fix: 'set `requirepass` (or ACL users) and REDIS_PASSWORD; bind to 127.0.0.1 or a private interface',
        });
      } else {
        out.push({
          id: idFor('auth', s),
          status: 'warn',
          message: `${where} has no password${known ? ` (bound to ${bind.join(' ')})` : ''}: any local process can read and delete jobs`,
          fix: 'set `requirepass` (or ACL users) and REDIS_PASSWORD',
        });
      }
    }
  }
  return out;
};

/** The old stack's driver names: informational, but a non-redis value means the app is not using this Redis. */
export const envChecks: CheckGroup = async (ctx) => {
  const out: CheckResult[] = [];
  const names: [string, string | undefined][] = [
    ['QUEUE_CONNECTION', ctx.config.env.queueConnection],
    ['CACHE_STORE', ctx.config.env.cacheStore],
    ['SESSION_DRIVER', ctx.config.env.sessionDriver],
  ];
  for (const [name, value] of names) {
    if (value === undefined) continue;
    if (value === 'redis') out.push({ id: `env.${name}`, status: 'ok', message: `${name}=redis` });
    else
      out.push({
        id: `env.${name}`,
        status: 'warn',
        message: `${name}=${value}: the app does not use Redis for this`,
        fix: `set ${name}=redis in the app's environment`,
      });
  }
  return out;
};
