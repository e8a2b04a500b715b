import type { Config } from '../config/resolve.js';
import type { Role } from '../config/endpoints.js';
import type { RedisClient } from '../redis/connect.js';
import { maskWebhookUrl } from '../util/url-mask.js';
import { evaluateAlerts } from './evaluate.js';
import { alertRules, type AlertRule } from './rules.js';
import { readAlertStates, type AlertState } from './state.js';

/** One line of `rqctl alerts check --json` (docs/alerts.md); the first five fields are the contract. */
export interface CheckedAlert {
  name: string;
  state: 'firing' | 'ok';
  value: number | null;
  threshold: number;
  /** Since when it is in this state (ISO), as the scheduler recorded it; now for a change it has not seen yet; null when unknown. */
  since: string | null;
  rule: string;
  kind: AlertRule['kind'];
  queue?: string;
  message: string;
  error?: string;
}

/**
 * `rqctl alerts check`: evaluates every rule now (read-only: nothing is notified, no state is
 * written; the scheduler does that) and says since when each alert is in its state.
 */
export async function checkAlerts(config: Config, clients: Record<Role, RedisClient>, now = Date.now()): Promise<{ alerts: CheckedAlert[] }> {
  const [results, states] = await Promise.all([evaluateAlerts(config, clients, { now, strict: true }), readAlertStates(clients.queue, config.queue.prefix)]);
  return {
    alerts: results.map((r) => {
      const s = states.get(r.name);
      const since = s && s.state === r.state ? new Date(s.since).toISOString() : r.state === 'firing' ? new Date(now).toISOString() : null;
      return {
        name: r.name,
        state: r.state,
        value: r.value !== null && Number.isFinite(r.value) ? r.value : null,
        threshold: r.threshold,
        since,
        rule: r.rule,
        kind: r.kind,
        ...(r.queue !== undefined ? { queue: r.queue } : {}),
        message: r.message,
        ...(r.error ? { error: r.error } : {}),
      };
    }),
  };
}

export interface ListedRule {
  name: string;
  kind: AlertRule['kind'];
  queue: string | null;
  threshold: number;
  /** One of the built-in defaults (no `alerts.rules` in the config). */
  builtIn: boolean;
}

export interface ListedAlertState {
  name: string;
  state: 'firing' | 'ok';
  value: number | null;
  threshold: number;
  since: string;
  evaluatedAt: string;
  lastNotified: { event: string; at: string } | null;
  /** A notification not delivered yet: retried at the next evaluation. */
  pending: { event: string; channels: string[]; attempts: number; lastError?: string } | null;
}

export interface AlertList {
  notify: { webhook: string | null; mail: string | null };
  cooldownSeconds: number;
  rules: ListedRule[];
  /** As the scheduler last evaluated them; null when the queue role could not be read. */
  alerts: ListedAlertState[] | null;
}

/** `rqctl alerts list`: the rules, where notifications go (the webhook masked), and the state the scheduler keeps. */
export async function listAlerts(config: Config, client: RedisClient | undefined): Promise<AlertList> {
  const n = config.alerts.notify;
  const states = client ? await readAlertStates(client, config.queue.prefix) : undefined;
  return {
    notify: { webhook: n.webhook ? maskWebhookUrl(n.webhook) : null, mail: n.mail ?? null },
    cooldownSeconds: config.alerts.cooldown / 1000,
    rules: alertRules(config).map((r) => ({ name: r.name, kind: r.kind, queue: r.queue ?? null, threshold: r.threshold, builtIn: r.builtIn })),
    alerts: states ? [...states].sort(([a], [b]) => a.localeCompare(b)).map(([name, s]) => listed(name, s)) : null,
  };
}

function listed(name: string, s: AlertState): ListedAlertState {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    name,
    state: s.state,
    value: s.value,
    threshold: s.threshold,
    since: iso(s.since),
    evaluatedAt: iso(s.evaluatedAt),
    lastNotified: s.lastNotified ? { event: s.lastNotified.event, at: iso(s.lastNotified.at) } : null,
    pending: s.pending ? { event: s.pending.event, channels: s.pending.channels, attempts: s.pending.attempts, lastError: s.pending.lastError } : null,
  };
}
