import type { AlertRuleConfig, RuleKind } from '../config/alerts-schema.js';
import { RULE_KINDS } from '../config/alerts-schema.js';
import type { Config } from '../config/resolve.js';

/**
 * The alert rules (docs/alerts.md): the configured ones, or the defaults when `alerts.rules` is
 * absent. Thresholds are kept in the units the alerts report: jobs, seconds, a ratio.
 */
export interface AlertRule {
  name: string;
  kind: RuleKind;
  /** The queue a queue rule looks at; undefined = every queue (one alert per queue, named `<rule>:<queue>`), or all workers for workersBelow. */
  queue?: string;
  threshold: number;
  /** From the defaults, not the config file. */
  builtIn: boolean;
}

/** Without `alerts.rules`: these (docs/alerts.md). */
const DEFAULT_RULES: AlertRuleConfig[] = [
  { name: 'no-workers', workersBelow: 1 },
  { name: 'scheduler-stale', schedulerStale: 180_000 },
  { name: 'queue-evictions', queueEvictions: true },
  { name: 'oldest-ready', oldestReady: 600_000 },
];

const IN_MS: readonly RuleKind[] = ['oldestReady', 'schedulerStale'];

export function alertRules(config: Config): AlertRule[] {
  const configured = config.alerts.rules;
  return (configured ?? DEFAULT_RULES).map((r) => {
    const kind = RULE_KINDS.find((k) => r[k] !== undefined)!;
    const raw = r[kind];
    const threshold = kind === 'queueEvictions' ? 0 : IN_MS.includes(kind) ? (raw as number) / 1000 : (raw as number);
    return { name: r.name, kind, queue: r.queue, threshold, builtIn: configured === undefined };
  });
}

/** Whether a measured value fires the rule. A value that could not be measured (null) never does; a scheduler never seen is Infinity, and does. */
export function fires(rule: AlertRule, value: number | null): boolean {
  if (value === null) return false;
  switch (rule.kind) {
    case 'workersBelow':
    case 'cacheHitRatioBelow':
      return value < rule.threshold;
    default:
      return value > rule.threshold;
  }
}

/** One line saying what the rule watches, with its measurement: for notifications and `alerts check`. */
export function describeAlert(rule: AlertRule, queue: string | undefined, value: number | null): string {
  const v = value === null ? 'unknown' : String(round(value));
  const t = round(rule.threshold);
  switch (rule.kind) {
    case 'backlog':
      return `queue ${queue} has ${v} jobs ready to run (threshold ${t})`;
    case 'oldestReady':
      return `the oldest ready job of queue ${queue} has waited ${v} s (threshold ${t} s)`;
    case 'failedPer5m':
      return `${v} attempts failed in queue ${queue} in the last 5 minutes (threshold ${t})`;
    case 'workersBelow':
      return `${v} live worker${value === 1 ? '' : 's'}${queue ? ` on queue ${queue}` : ''} (at least ${t} expected)`;
    case 'schedulerStale':
      return value === null || !Number.isFinite(value)
        ? 'no scheduler heartbeat in the last 24 h'
        : `the last scheduler heartbeat is ${v} s old (threshold ${t} s)`;
    case 'queueEvictions':
      return `${v} keys evicted on the server(s) holding the queue or session role (any eviction there loses jobs or sessions)`;
    case 'cacheHitRatioBelow':
      return `cache hit ratio ${v} (threshold ${t})`;
  }
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
