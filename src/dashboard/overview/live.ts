import type { Config } from '../../config/resolve.js';
import { ROLES, type Role } from '../../config/endpoints.js';
import { sampleQueues } from '../../queue/monitor.js';
import { queueCounts } from '../../queue/status.js';
import type { RedisClient } from '../../redis/connect.js';
import { readRoleStats } from '../../redis/stats.js';
import { HEARTBEAT_INTERVAL_MS, listWorkers } from '../../runtime/worker-registry.js';
import type { DashboardRedis } from '../redis.js';
import type { QueueView, RoleView, WorkerView } from './types.js';

/**
 * The parts of the overview read at every refresh: INFO and a PING per server, the workers'
 * heartbeats, and per queue its counts and the age of its oldest ready job. Each is a handful of
 * O(1) reads pipelined per server; none reads a job list.
 */

const unknownRole = (config: Config, role: Role, error: string): RoleView => ({
  role,
  url: config.roles[role].display,
  reachable: false,
  error,
  latencyMs: null,
  version: null,
  usedMemory: null,
  maxmemory: null,
  maxmemoryPolicy: null,
  evictedKeys: null,
  hitRatio: null,
  keys: null,
  aof: null,
  uptimeSeconds: null,
});

async function pingMs(client: RedisClient): Promise<number> {
  const t = performance.now();
  await client.ping();
  return Math.round((performance.now() - t) * 100) / 100;
}

export async function readRoles(config: Config, redis: DashboardRedis): Promise<RoleView[]> {
  const ready = ROLES.filter((r) => redis.isReady(r));
  const clients = redis.readyClients();
  const [stats, latencies] = await Promise.all([
    readRoleStats(config, ready, clients).catch((e: unknown) => e as Error),
    Promise.all(ready.map((r) => pingMs(clients[r]!).catch(() => null))),
  ]);
  return ROLES.map((role) => {
    const problem = redis.problem(role);
    if (problem !== null) return unknownRole(config, role, problem);
    if (stats instanceof Error) return unknownRole(config, role, stats.message);
    const s = stats.find((x) => x.role === role)!;
    return {
      role,
      url: s.url,
      reachable: true,
      error: null,
      latencyMs: latencies[ready.indexOf(role)],
      version: s.version,
      usedMemory: s.usedMemory,
      maxmemory: s.maxmemory,
      maxmemoryPolicy: s.maxmemoryPolicy,
      evictedKeys: s.evictedKeys,
      hitRatio: s.hitRatio,
      keys: s.keys,
      aof: { enabled: s.persistence.aofEnabled, lastWriteStatus: s.persistence.aofLastWriteStatus },
      uptimeSeconds: s.uptimeSeconds,
    };
  });
}

export async function readWorkers(config: Config, client: RedisClient, now: number): Promise<WorkerView[]> {
  const workers = await listWorkers(config, client);
  return workers.map((w) => ({
    id: w.id,
    name: w.name,
    host: w.host,
    pid: w.pid,
    queues: w.queues,
    concurrency: w.concurrency,
    running: w.running,
    done: w.jobsDone,
    failed: w.jobsFailed,
    started: w.started,
    lastSeen: w.lastSeen,
    stale: now - Date.parse(w.lastSeen) > 2 * HEARTBEAT_INTERVAL_MS,
  }));
}

export async function readQueues(config: Config, client: RedisClient, names: readonly string[], now: number): Promise<QueueView[]> {
  const [counts, sample] = await Promise.all([queueCounts(config, client, names), sampleQueues(config, client, names, {}, now)]);
  return counts.map((c, i) => {
    const s = sample.queues[i];
    return {
      name: c.name,
      waiting: c.waiting,
      active: c.active,
      delayed: c.delayed,
      prioritized: c.prioritized,
      waitingChildren: c.waitingChildren,
      completed: c.completed,
      failed: c.failed,
      isPaused: c.isPaused,
      backlog: s.size,
      oldestReadyMs: s.oldestWaitMs,
      workers: 0,
    };
  });
}
