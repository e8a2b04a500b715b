import type { Worker } from 'bullmq';
import { redisRefusal, type RqctlError } from '../../errors.js';
import type { RedisClient } from '../../redis/connect.js';
import type { EventLog } from '../events.js';
import type { StopSwitch } from './settings.js';

/**
 * How long a worker keeps trying after Redis first refused one of its writes before it gives up and
 * exits 3. Short on purpose: a failover (a stale connection to the old master answers READONLY)
 * settles within it, and it stays well below supervisord's `startsecs` (10 in the generated file),
 * so a worker that can never write goes FATAL there instead of restarting forever as RUNNING.
 */
export const REFUSAL_RETRY_MS = 5_000;
const PROBE_EVERY_MS = 1_000;
/**
 * A worker refused from its start gives up by this much uptime (but after one probe at least): on
 * a loaded host Node alone may take seconds to start, and the exit must still come before
 * supervisord's `startsecs` (10) so that the start counts as failed.
 */
const START_BUDGET_MS = 8_000;

/** Refusals no waiting cures: a read-only replica, an ACL user without the commands or keys. */
const FATAL: ReadonlySet<string> = new Set(['REDIS_READONLY', 'REDIS_NOPERM']);

/**
 * What BullMQ needs of every queue: a Lua script that writes a key of the queue. Deleting a key
 * that never exists changes nothing and replicates nothing, but a replica (READONLY) and a user
 * without +eval or the queue's keys (NOPERM) refuse it as they refuse BullMQ's own scripts.
 */
const PROBE_SCRIPT = "return redis.call('DEL', KEYS[1])";

export interface RefusalContext {
  /** The worker's queue-role client: probes go over it (BullMQ's own clients are busy or paused). */
  client: RedisClient;
  /** A key in the queue's namespace that nothing uses. */
  probeKey: string;
  /** `Redis at … (queue role)`, for the messages. */
  where: string;
  consumers: () => Worker[];
  /** Jobs finished so far (done + failed): a refusal that comes back with none between is not transient. */
  progress: () => number;
  log: EventLog;
  stop: StopSwitch;
}

/** Refusals that come back right after a probe passed, with no job finished between, before giving up. */
const MAX_RELAPSES = 3;

/**
 * Turns BullMQ's endless `error` events about refused writes into a decision (docs/worker.md). On
 * the first refusal the consumers pause (BullMQ would otherwise retry in a tight loop) and the
 * worker probes once a second; writable again within REFUSAL_RETRY_MS: they resume; still refused:
 * the worker stops with exit 3, so supervisord and `rqctl deploy`'s verify see it. Costs nothing per
 * job: it only runs on BullMQ's error events.
 */
export class WriteRefusals {
  private since = 0;
  /** When the current refusal stops being retried. */
  private giveUpAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Jobs finished when the consumers last resumed, and how often refusals came back since with none. */
  private resumedAt: number | undefined;
  private relapses = 0;

  constructor(private readonly ctx: RefusalContext) {}

  /** True while a refusal is being judged: the worker is not idle, it cannot write. */
  get suspected(): boolean {
    return this.since > 0;
  }

  /** A BullMQ `error` event. Returns true when it was a refusal this class handles (and logs). */
  noteError(err: unknown): boolean {
    const refusal = this.refusal(err);
    if (!refusal) return false;
    if (this.since || this.closed || this.ctx.stop.stopping) return true;
    // The probe passes but BullMQ is still refused (an ACL that allows the probe's commands, not
    // BullMQ's): without a job finished between, that is no transient refusal.
    this.relapses = this.resumedAt !== undefined && this.ctx.progress() === this.resumedAt ? this.relapses + 1 : 0;
    if (this.relapses >= MAX_RELAPSES) {
      this.ctx.stop.requestStop(
        'refused',
        `${refusal.message}; refused again each time the worker resumed (${MAX_RELAPSES} times, no job done) (${refusal.hint})`,
      );
      return true;
    }
    this.since = Date.now();
    const startBudgetLeft = START_BUDGET_MS - process.uptime() * 1000;
    this.giveUpAt = this.since + (startBudgetLeft > 0 ? Math.max(PROBE_EVERY_MS, Math.min(REFUSAL_RETRY_MS, startBudgetLeft)) : REFUSAL_RETRY_MS);
    this.ctx.log({
      level: 'warn',
      event: 'redis-refused',
      code: refusal.code,
      msg: `${refusal.message}; trying again for ${Math.round((this.giveUpAt - this.since) / 1000)} s, then exiting 3`,
    });
    for (const w of this.ctx.consumers()) void w.pause(true).catch(() => {});
    this.schedule();
    return true;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private refusal(err: unknown): RqctlError | undefined {
    const r = redisRefusal(err, this.ctx.where);
    return r && FATAL.has(r.code) ? r : undefined;
  }

  private schedule(): void {
    this.timer = setTimeout(() => void this.probe(), PROBE_EVERY_MS);
  }

  private async probe(): Promise<void> {
    if (this.closed || this.ctx.stop.stopping) return;
    const { client, probeKey, log, stop } = this.ctx;
    try {
      await client.eval(PROBE_SCRIPT, 1, probeKey);
    } catch (e) {
      const refusal = this.refusal(e);
      if (refusal) {
        if (Date.now() < this.giveUpAt) return this.schedule();
        stop.requestStop('refused', `${refusal.message}; still refused after ${Math.round((Date.now() - this.since) / 1000)} s (${refusal.hint})`);
        return;
      }
      // Not a refusal (Redis unreachable): the connection watcher reports it; BullMQ reconnects.
    }
    log({ event: 'redis-writable', msg: 'the queue role takes writes again: resuming' });
    this.since = 0;
    this.resumedAt = this.ctx.progress();
    for (const w of this.ctx.consumers()) void w.resume().catch(() => {});
  }
}
