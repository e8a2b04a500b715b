import type { Config } from '../config/resolve.js';
import type { Role } from '../config/endpoints.js';
import { recentCounts } from '../metrics/counters-read.js';
import { ScrapeSources } from '../metrics/sources.js';
import type { RedisClient } from '../redis/connect.js';
import { groupByServer } from '../redis/target.js';
import { alertRules, describeAlert, fires, type AlertRule } from './rules.js';

/** One alert's evaluation: a rule, for one queue when the rule looks at every queue. */
export interface AlertResult {
  /** The rule's name, or `<rule>:<queue>` for a rule that looks at every queue. */
  name: string;
  rule: string;
  kind: AlertRule['kind'];
  queue?: string;
  state: 'firing' | 'ok';
  /** The measurement (jobs, seconds, a ratio); null when it could not be measured, Infinity for a scheduler never seen. */
  value: number | null;
  threshold: number;
  message: string;
  /** Why the value is unknown (a role that did not answer). */
  error?: string;
}

/** Queue kinds that become one alert per queue when the rule names none (workersBelow then counts every worker). */
const PER_QUEUE = new Set(['backlog', 'oldestReady', 'failedPer5m']);

/**
 * Evaluates every rule once against Redis, with the same reads as `rqctl metrics` (ScrapeSources),
 * so an alert and the series it mirrors agree. `clients`: the queue role, and the cache and session
 * roles for the eviction and hit-ratio rules (a role without a client leaves its rule unknown).
 */
export async function evaluateAlerts(
  config: Config,
  clients: Partial<Record<Role, RedisClient>>,
  options: { now?: number; strict?: boolean } = {},
): Promise<AlertResult[]> {
  const rules = alertRules(config);
  const errors: string[] = [];
  const sources = new ScrapeSources(config, clients, {
    discoveryWaitMs: 30_000,
    now: options.now,
    queues: rules.flatMap((r) => (r.queue !== undefined ? [r.queue] : [])),
    onError: options.strict ? undefined : (what, e) => errors.push(`${what}: ${e.message}`),
  });
  const out: AlertResult[] = [];
  for (const rule of rules) {
    try {
      for (const m of await measure(rule, sources)) {
        const name = m.queue !== undefined && rule.queue === undefined ? `${rule.name}:${m.queue}` : rule.name;
        out.push(result(rule, name, m.queue, m.value, m.value === null && errors.length ? errors.join('; ') : undefined));
      }
    } catch (e) {
      if (options.strict) throw e;
      out.push(result(rule, rule.name, rule.queue, null, (e as Error).message));
    }
  }
  return out;
}

function result(rule: AlertRule, name: string, queue: string | undefined, value: number | null, error?: string): AlertResult {
  return {
    name,
    rule: rule.name,
    kind: rule.kind,
    ...(queue !== undefined ? { queue } : {}),
    state: fires(rule, value) ? 'firing' : 'ok',
    value,
    threshold: rule.threshold,
    message: describeAlert(rule, queue, value),
    ...(error ? { error } : {}),
  };
}

interface Measurement {
  queue?: string;
  value: number | null;
}

async function measure(rule: AlertRule, s: ScrapeSources): Promise<Measurement[]> {
  const queues = rule.queue !== undefined ? [rule.queue] : PER_QUEUE.has(rule.kind) ? await s.queues() : [];
  switch (rule.kind) {
    case 'backlog':
    case 'oldestReady': {
      const backlog = await s.backlog();
      return queues.map((queue) => {
        const q = backlog.find((b) => b.name === queue);
        // A queue named in a rule but missing from Redis has no backlog.
        const value = rule.kind === 'backlog' ? (q?.size ?? 0) : (q?.oldestWaitMs ?? 0) / 1000;
        return { queue, value };
      });
    }
    case 'failedPer5m': {
      const recent = await recentCounts(s.queueClient!, s.config.queue.prefix, 5, s.now);
      return queues.map((queue) => ({ queue, value: recent.get(queue)?.failed ?? 0 }));
    }
    case 'workersBelow': {
      const workers = await s.workers();
      return [{ queue: rule.queue, value: workers.filter((w) => rule.queue === undefined || w.queues.includes(rule.queue)).length }];
    }
    case 'schedulerStale': {
      const at = await s.lastSchedulerBeat();
      return [{ value: at === undefined ? Infinity : Math.max(0, Math.round((s.now - at) / 1000)) }];
    }
    case 'queueEvictions':
      return [{ value: await queueServerEvictions(s) }];
    case 'cacheHitRatioBelow': {
      const stats = await s.roleStats();
      return [{ value: stats.get('cache')?.hitRatio ?? null }];
    }
  }
}

/** Evicted keys on the servers holding the queue or session role, each server once; null when one did not answer. */
async function queueServerEvictions(s: ScrapeSources): Promise<number | null> {
  const stats = await s.roleStats();
  const roles: Role[] = ['queue', 'session'];
  let total = 0;
  for (const [first] of groupByServer(s.config, roles)) {
    const st = stats.get(first);
    if (!st) return null;
    total += st.evictedKeys;
  }
  return total;
}
