import { Cluster } from 'ioredis';
import type { Config } from '../config/resolve.js';
import type { Role } from '../config/endpoints.js';
import type { RedisClient } from './connect.js';
import { parseInfo, parseKeyspace } from './info.js';
import { groupByServer } from './target.js';

/** One role's server, summarised from INFO (the `stats` JSON contract, plus more fields). */
export interface RoleStats {
  role: Role;
  url: string;
  /** The role's DB (0 on a cluster). */
  db: number;
  version: string | null;
  usedMemory: number;
  usedMemoryPeak: number;
  /** 0 = no limit. */
  maxmemory: number;
  maxmemoryPolicy: string | null;
  /** keyspace_hits / (hits + misses) since the server started, 0–1; null before any lookup. */
  hitRatio: number | null;
  keyspaceHits: number;
  keyspaceMisses: number;
  evictedKeys: number;
  expiredKeys: number;
  opsPerSec: number;
  totalCommands: number;
  connectedClients: number;
  blockedClients: number;
  /** Every DB of the server: `{ db0: { keys, expires, avgTtl } }`. */
  keyspace: Record<string, { keys: number; expires: number; avgTtl: number }>;
  /** Keys in the role's own DB. */
  keys: number;
  persistence: {
    aofEnabled: boolean;
    aofLastWriteStatus: string | null;
    rdbLastSaveTime: number | null;
    rdbChangesSinceLastSave: number | null;
    rdbLastBgsaveStatus: string | null;
    loading: boolean;
  };
  uptimeSeconds: number;
  /** Masters whose INFO was summed (1 unless a cluster). */
  nodes: number;
}

const num = (v: string | undefined): number => (v === undefined || v === '' || Number.isNaN(Number(v)) ? 0 : Number(v));

/** INFO of every server behind a client (the one server, or each cluster master). */
export async function readInfos(client: RedisClient): Promise<Record<string, string>[]> {
  const nodes = client instanceof Cluster ? client.nodes('master') : [client];
  return Promise.all(nodes.map(async (n) => parseInfo(String(await n.info()))));
}

/** Sums what adds up across cluster masters; takes the first master's value for the rest. */
function summarise(role: Role, url: string, db: number, infos: Record<string, string>[]): RoleStats {
  const sum = (k: string) => infos.reduce((a, i) => a + num(i[k]), 0);
  const first = infos[0] ?? {};
  const keyspace: RoleStats['keyspace'] = {};
  for (const info of infos) {
    for (const [name, v] of Object.entries(parseKeyspace(info))) {
      const cur = (keyspace[name] ??= { keys: 0, expires: 0, avgTtl: 0 });
      cur.keys += v.keys;
      cur.expires += v.expires;
      cur.avgTtl = Math.max(cur.avgTtl, v.avgTtl);
    }
  }
  const hits = sum('keyspace_hits');
  const misses = sum('keyspace_misses');
  const policies = [...new Set(infos.map((i) => i.maxmemory_policy).filter(Boolean))];
  return {
    role,
    url,
    db,
    version: first.redis_version ?? null,
    usedMemory: sum('used_memory'),
    usedMemoryPeak: sum('used_memory_peak'),
    maxmemory: sum('maxmemory'),
    maxmemoryPolicy: policies.length ? policies.join(',') : null,
    hitRatio: hits + misses > 0 ? Math.round((hits / (hits + misses)) * 10_000) / 10_000 : null,
    keyspaceHits: hits,
    keyspaceMisses: misses,
    evictedKeys: sum('evicted_keys'),
    expiredKeys: sum('expired_keys'),
    opsPerSec: sum('instantaneous_ops_per_sec'),
    totalCommands: sum('total_commands_processed'),
    connectedClients: sum('connected_clients'),
    blockedClients: sum('blocked_clients'),
    keyspace,
    keys: keyspace[`db${db}`]?.keys ?? 0,
    persistence: {
      aofEnabled: infos.length > 0 && infos.every((i) => i.aof_enabled === '1'),
      aofLastWriteStatus: first.aof_last_write_status ?? null,
      rdbLastSaveTime: first.rdb_last_save_time === undefined ? null : num(first.rdb_last_save_time),
      rdbChangesSinceLastSave: first.rdb_changes_since_last_save === undefined ? null : sum('rdb_changes_since_last_save'),
      rdbLastBgsaveStatus: first.rdb_last_bgsave_status ?? null,
      loading: infos.some((i) => i.loading === '1'),
    },
    uptimeSeconds: Math.min(...infos.map((i) => num(i.uptime_in_seconds))),
    nodes: infos.length,
  };
}

/** The INFO summary of one role, read through an open client. */
export async function roleStats(config: Config, role: Role, client: RedisClient): Promise<RoleStats> {
  const ep = config.roles[role];
  return summarise(role, ep.display, ep.db, await readInfos(client));
}

/**
 * The INFO summary of each role, read through the clients of each server's first role (see
 * `groupByServer`): roles sharing a server share one INFO read.
 */
export async function readRoleStats(config: Config, roles: readonly Role[], clients: Partial<Record<Role, RedisClient>>): Promise<RoleStats[]> {
  const groups = groupByServer(config, roles);
  const per = await Promise.all(groups.map(async (g) => ({ roles: g, infos: await readInfos(clients[g[0]]!) })));
  return roles.map((role) => {
    const { infos } = per.find((p) => p.roles.includes(role))!;
    const ep = config.roles[role];
    return summarise(role, ep.display, ep.db, infos);
  });
}

export interface StatsWatchOptions {
  intervalMs: number;
  /** Stop after this many reads (default: until the signal). */
  count?: number;
  signal?: AbortSignal;
  onRead(time: Date, stats: RoleStats[]): void;
}

/** `stats --watch`: `readRoleStats` every `intervalMs` until the signal or `count` reads. Returns the reads made. */
export async function watchRoleStats(
  config: Config,
  roles: readonly Role[],
  clients: Partial<Record<Role, RedisClient>>,
  opts: StatsWatchOptions,
): Promise<number> {
  let n = 0;
  while (!opts.signal?.aborted) {
    const stats = await readRoleStats(config, roles, clients);
    opts.onRead(new Date(), stats);
    n++;
    if (opts.count !== undefined && n >= opts.count) break;
    await sleep(opts.intervalMs, opts.signal);
  }
  return n;
}

/** Waits `ms`, or less when the signal fires. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done);
  });
}
