import type { Config } from '../config/resolve.js';
import type { Role } from '../config/endpoints.js';
import { closeClient, createClient, type RedisClient } from '../redis/connect.js';
import type { EventLog } from '../runtime/events.js';
import { RELEASE_LOCK_LUA } from '../schedule/keys.js';
import { withFallback } from '../util/timeout.js';
import { evaluateAlerts, type AlertResult } from './evaluate.js';
import { configuredChannels, deliver, notificationOf, permanentFailure } from './notify.js';
import { alertKeys, MAX_ATTEMPTS, nextAlertState, readAlertStates, writeAlertStates, type AlertState, type Channel } from './state.js';

/**
 * The scheduler daemon's alerting (docs/alerts.md): every `alerts.evaluateEvery` (1 minute), the one
 * scheduler whose SET NX claims the period evaluates the rules, works out what changed against the
 * state kept in Redis, delivers what is owed (firing, resolved, reminders after the cooldown, and
 * what could not be delivered last time) and writes the state back. Any number of schedulers: one
 * evaluation per period; a restart: nothing sent twice.
 */
export class AlertEvaluator {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly own: Partial<Record<Role, RedisClient>> = {};

  constructor(
    private readonly config: Config,
    private readonly queue: RedisClient,
    private readonly id: string,
    private readonly log: EventLog,
  ) {}

  start(): void {
    // The eviction and hit-ratio rules read INFO of the cache and session servers: connections of
    // our own that reconnect forever, like the scheduler's.
    for (const role of ['cache', 'session'] as const) {
      const c = createClient(this.config.roles[role], { use: 'worker', timeoutMs: this.config.redis.connectTimeoutMs, connectionName: 'rqctl-alerts' });
      c.on('error', () => {});
      c.connect().catch(() => {});
      this.own[role] = c;
    }
    this.arm();
  }

  async close(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await withFallback(this.running ?? Promise.resolve(), 15_000, undefined);
    await Promise.all(Object.values(this.own).map((c) => closeClient(c)));
  }

  /** Wakes at the start of the next period (every scheduler computes the same periods). */
  private arm(): void {
    if (this.stopped) return;
    const every = this.config.alerts.evaluateEvery;
    const now = Date.now();
    const period = Math.floor(now / every) + 1;
    this.timer = setTimeout(
      () => {
        if (!this.running) this.running = this.tick(period).finally(() => (this.running = undefined));
        this.arm();
      },
      period * every - now,
    );
  }

  private async tick(period: number): Promise<void> {
    const every = this.config.alerts.evaluateEvery;
    const keys = alertKeys(this.config.queue.prefix);
    try {
      if ((await this.queue.set(keys.tick(period), this.id, 'PX', every * 10, 'NX')) !== 'OK') return;
      // Held while evaluating and delivering: a slow delivery never overlaps the next period's evaluation.
      const lock = `${keys.state}:lock`;
      if ((await this.queue.set(lock, this.id, 'PX', Math.max(every * 5, 120_000), 'NX')) !== 'OK') {
        this.log({ level: 'debug', event: 'alerts.skipped', msg: 'the previous evaluation is still delivering' });
        return;
      }
      try {
        await this.evaluate();
      } finally {
        await this.queue.eval(RELEASE_LOCK_LUA, 1, lock, this.id).catch(() => {});
      }
    } catch (e) {
      this.log({ level: 'warn', event: 'alerts.failed', msg: `alert evaluation failed: ${(e as Error).message}` });
    }
  }

  private async evaluate(): Promise<void> {
    const { config } = this;
    const now = Date.now();
    const clients = { queue: this.queue, ...this.own };
    const [results, prev] = await Promise.all([evaluateAlerts(config, clients, { now }), readAlertStates(this.queue, config.queue.prefix)]);
    const channels = configuredChannels(config);
    const next = new Map<string, AlertState>();
    for (const r of results) {
      const before = prev.get(r.name);
      const s = nextAlertState(before, r, now, config.alerts.cooldown, channels);
      if (s.state !== before?.state && (before || s.state === 'firing'))
        this.log({
          level: s.state === 'firing' ? 'warn' : 'info',
          event: `alert.${s.state === 'firing' ? 'firing' : 'resolved'}`,
          alert: r.name,
          value: r.value,
          threshold: r.threshold,
          msg: `${r.name}: ${r.message}`,
        });
      next.set(r.name, s);
    }
    await Promise.all(results.map((r) => this.deliverOwed(r, next.get(r.name)!)));
    await writeAlertStates(this.queue, config.queue.prefix, next);
    this.log({ level: 'debug', event: 'alerts.evaluated', alerts: results.length, firing: results.filter((r) => r.state === 'firing').length });
  }

  /** Sends what `s` owes on each channel still waiting for it; updates `s` in place. */
  private async deliverOwed(r: AlertResult, s: AlertState): Promise<void> {
    const p = s.pending;
    if (!p) return;
    const n = notificationOf(this.config, r, s, p.event, !!p.reminder);
    const left: Channel[] = [];
    for (const channel of p.channels) {
      try {
        await deliver(this.config, channel, n);
        this.log({ event: 'alert.notified', alert: r.name, channel, state: p.event, msg: `${r.name} ${p.event}: sent by ${channel}` });
      } catch (e) {
        const msg = (e as Error).message;
        if (permanentFailure(e)) {
          this.log({ level: 'error', event: 'alert.delivery-failed', alert: r.name, channel, msg: `${r.name}: ${msg} (not retried)` });
          continue;
        }
        p.lastError = msg;
        left.push(channel);
        this.log({ level: 'warn', event: 'alert.delivery-failed', alert: r.name, channel, msg: `${r.name}: ${msg} (tried again next evaluation)` });
      }
    }
    p.attempts++;
    if (left.length === 0) {
      s.lastNotified = { event: p.event, at: Date.now() };
      delete s.pending;
    } else if (p.attempts >= MAX_ATTEMPTS) {
      this.log({ level: 'error', event: 'alert.given-up', alert: r.name, msg: `${r.name}: gave up delivering "${p.event}" after ${p.attempts} attempts` });
      delete s.pending;
    } else {
      p.channels = left;
    }
  }
}
