import type { RedisClient } from '../redis/connect.js';
import type { AlertResult } from './evaluate.js';

/**
 * What the scheduler remembers of each alert, in the queue role (persistent, `noeviction`), so a
 * restarted or second scheduler neither notifies again nor misses a resolution (docs/alerts.md):
 *
 *   <prefix>:rqctl:alerts:state          hash alert name → JSON AlertState
 *   <prefix>:rqctl:alerts:tick:<n>       SET NX PX: the scheduler that evaluates period n (one per minute for the deployment)
 */
export function alertKeys(queuePrefix: string): { state: string; tick(period: number): string } {
  const base = `${queuePrefix}:rqctl:alerts`;
  return { state: `${base}:state`, tick: (n) => `${base}:tick:${n}` };
}

export type Channel = 'webhook' | 'mail';
export type NotificationEvent = 'firing' | 'resolved';

export interface AlertState {
  state: 'firing' | 'ok';
  /** When it entered this state, epoch ms. */
  since: number;
  value: number | null;
  threshold: number;
  evaluatedAt: number;
  /** The last notification delivered on every channel. */
  lastNotified?: { event: NotificationEvent; at: number };
  /** A notification still to deliver (its channels that have not taken it yet), retried every evaluation. */
  pending?: { event: NotificationEvent; channels: Channel[]; attempts: number; reminder?: boolean; lastError?: string };
}

/** A notification given up after this many evaluations (an hour at one a minute): logged, not retried forever. */
export const MAX_ATTEMPTS = 60;

export async function readAlertStates(client: RedisClient, queuePrefix: string): Promise<Map<string, AlertState>> {
  const raw = await client.hgetall(alertKeys(queuePrefix).state);
  const out = new Map<string, AlertState>();
  for (const [name, json] of Object.entries(raw)) {
    try {
      out.set(name, JSON.parse(json) as AlertState);
    } catch {
      /* not ours */
    }
  }
  return out;
}

/** Replaces the stored states with `states` (alerts no longer evaluated, e.g. a rule removed, go). */
export async function writeAlertStates(client: RedisClient, queuePrefix: string, states: Map<string, AlertState>): Promise<void> {
  const key = alertKeys(queuePrefix).state;
  const tx = client.multi().del(key);
  if (states.size) tx.hset(key, Object.fromEntries([...states].map(([name, s]) => [name, JSON.stringify(s)])));
  await tx.exec();
}

/**
 * The next state of one alert, and the notification it owes: `firing` when it starts firing (and again
 * every `cooldownMs` while it fires), `resolved` when it stops after a delivered `firing`. A pending
 * notification that a new change supersedes is replaced by it.
 */
export function nextAlertState(prev: AlertState | undefined, r: AlertResult, now: number, cooldownMs: number, channels: Channel[]): AlertState {
  const base = { value: r.value, threshold: r.threshold, evaluatedAt: now };
  const owe = (event: NotificationEvent, reminder = false): AlertState['pending'] =>
    channels.length ? { event, channels: [...channels], attempts: 0, ...(reminder ? { reminder } : {}) } : undefined;
  if (r.state === 'firing') {
    if (!prev || prev.state !== 'firing') return { ...base, state: 'firing', since: now, lastNotified: prev?.lastNotified, pending: owe('firing') };
    const due = !prev.pending && (!prev.lastNotified || prev.lastNotified.event !== 'firing' || now - prev.lastNotified.at >= cooldownMs);
    return { ...prev, ...base, pending: due ? owe('firing', !!prev.lastNotified && prev.lastNotified.event === 'firing') : prev.pending };
  }
  if (prev?.state === 'firing') {
    // Resolved: said only to whoever was told it fired.
    const partly = prev.pending?.event === 'firing' && prev.pending.channels.length < channels.length;
    const told = partly || (prev.lastNotified?.event === 'firing' && prev.lastNotified.at >= prev.since);
    return { ...base, state: 'ok', since: now, lastNotified: prev.lastNotified, pending: told ? owe('resolved') : undefined };
  }
  return { ...(prev ?? {}), ...base, state: 'ok', since: prev?.since ?? now };
}
