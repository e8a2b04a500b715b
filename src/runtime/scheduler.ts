import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { AlertEvaluator } from '../alerts/evaluator.js';
import type { Config } from '../config/resolve.js';
import { ConfigError } from '../errors.js';
import { closeClient, connectRole, type RedisClient } from '../redis/connect.js';
import { KILL_GRACE_MS, runShellCommand, type RunningCommand } from '../schedule/command.js';
import { describeWhen, planEntries, type PlannedEntry } from '../schedule/entries.js';
import { syncJobSchedulers } from '../schedule/job-schedulers.js';
import { RELEASE_LOCK_LUA, scheduleKeys, type ScheduleKeys } from '../schedule/keys.js';
import { recordRun, removeSchedulerHeartbeat, writeSchedulerHeartbeat, type CommandRunRecord } from '../schedule/records.js';
import { dueInWindow, lateLimit, nextRunAfter, tickLockTtl } from '../schedule/timing.js';
import { withFallback } from '../util/timeout.js';

/**
 * `rqctl scheduler`: the schedule (docs/scheduler.md), safe to run on every server at once.
 * - Job entries become BullMQ job schedulers at start-up: BullMQ then creates each run exactly once,
 *   and the workers create the run after it, so job entries need no tick loop here.
 * - Command entries run here, through `/bin/sh -c`. Every process computes the same ticks; the one
 *   whose `SET NX` on `tick:<entry>:<tickMs>` succeeds runs the tick, the others skip it.
 * - A heartbeat key with a TTL lets `rqctl doctor` tell whether any scheduler is alive.
 * - The daemon evaluates the alert rules every minute, once for the deployment (docs/alerts.md).
 */

export interface SchedulerEvent {
  level?: 'info' | 'warn' | 'error' | 'debug';
  event: string;
  msg?: string;
  [field: string]: unknown;
}

export interface SchedulerOptions {
  /** One call per event (the CLI prints it as a line, or a JSON object off a TTY). */
  log: (e: SchedulerEvent) => void;
  /**
   * One tick, then stop (like `schedule:run` from cron every minute): job schedulers are synced, the
   * command entries whose tick came in the last minute (second, for entries that tick in seconds) run, and
   * the promise resolves when they have finished.
   */
  once?: boolean;
}

export interface SchedulerHandle {
  /** host:pid:random, as in the heartbeat and the locks. */
  id: string;
  /**
   * Stops ticking, waits for running commands (each bounded by its timeout), removes the heartbeat,
   * closes the connection. `force`: stop running commands now (SIGTERM, SIGKILL after 5 s).
   */
  close(options?: { force?: boolean }): Promise<void>;
  /** Settles once the scheduler has stopped (with `once`: already settled). */
  done: Promise<void>;
}

const HEARTBEAT_EVERY_MS = 10_000;
const HEARTBEAT_TTL_MS = 30_000;
/** `--once` from cron every minute: its heartbeat must last until the next run. */
const ONCE_HEARTBEAT_TTL_MS = 90_000;

export async function startScheduler(config: Config, options: SchedulerOptions): Promise<SchedulerHandle> {
  const client = await connectRole(config, 'queue', { use: 'worker', connectionName: 'rqctl-scheduler' });
  const scheduler = new Scheduler(config, client, options);
  try {
    await scheduler.start();
  } catch (e) {
    await closeClient(client);
    throw e;
  }
  if (options.once) {
    await scheduler.runOnce();
    await scheduler.close();
  } else {
    scheduler.arm();
  }
  return { id: scheduler.id, close: (o) => scheduler.close(o), done: scheduler.done };
}

class Scheduler {
  readonly id: string;
  readonly done: Promise<void>;
  private readonly host = hostname();
  private readonly keys: ScheduleKeys;
  private readonly entries: PlannedEntry[];
  private readonly commands: PlannedEntry[];
  private readonly log: (e: SchedulerEvent) => void;
  private readonly once: boolean;
  private readonly startedAt = new Date().toISOString();
  /** The tick each command entry waits for. */
  private readonly next = new Map<string, number>();
  /** Entries whose tick claim is still waiting for Redis. */
  private readonly claiming = new Set<string>();
  private readonly runs = new Set<Promise<void>>();
  private readonly children = new Set<RunningCommand>();
  private timer?: NodeJS.Timeout;
  private heartbeatTimer?: NodeJS.Timeout;
  private stopping = false;
  private closing?: Promise<void>;
  private resolveDone!: () => void;
  private lastRedisError = 0;
  /** The alert evaluator (daemon only), loaded after start-up: its modules must not delay the signal handlers. */
  private alerts: Promise<AlertEvaluator | undefined> | undefined;

  constructor(
    private readonly config: Config,
    private readonly client: RedisClient,
    options: SchedulerOptions,
  ) {
    this.id = `${this.host}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.keys = scheduleKeys(config.queue.prefix);
    this.entries = planEntries(config.schedule);
    this.commands = this.entries.filter((e) => e.kind === 'command');
    this.log = options.log;
    this.once = !!options.once;
    this.done = new Promise((r) => (this.resolveDone = r));
    // The connection reconnects forever (a Redis restart must not end the scheduler); say so, once
    // in a while rather than once per retry.
    client.on('error', (e: Error) => {
      if (Date.now() - this.lastRedisError < 10_000) return;
      this.lastRedisError = Date.now();
      this.log({ level: 'warn', event: 'redis.error', msg: e.message });
    });
    client.on('ready', () => {
      if (this.lastRedisError) this.log({ event: 'redis.ready', msg: 'connection to the queue role restored' });
    });
  }

  async start(): Promise<void> {
    await this.sync();
    await this.beat();
    if (!this.once) this.heartbeatTimer = setInterval(() => void this.beat(), HEARTBEAT_EVERY_MS);
    if (!this.once)
      this.alerts = this.startAlerts().catch((e: Error) => {
        this.log({ level: 'error', event: 'alerts.failed', msg: `alert evaluation not started: ${e.message}` });
        return undefined;
      });
    this.log({
      event: 'scheduler.started',
      id: this.id,
      mode: this.once ? 'once' : 'daemon',
      jobs: this.entries.length - this.commands.length,
      commands: this.commands.length,
    });
  }

  private async startAlerts(): Promise<AlertEvaluator | undefined> {
    const { AlertEvaluator } = await import('../alerts/evaluator.js');
    if (this.stopping) return undefined;
    const alerts = new AlertEvaluator(this.config, this.client, this.id, this.log);
    alerts.start();
    return alerts;
  }

  /** Job entries → BullMQ job schedulers. Orphans that rqctl created earlier are removed; others are reported. */
  private async sync(): Promise<void> {
    try {
      const r = await syncJobSchedulers(this.config, this.client, this.entries, { orphans: 'managed', keys: this.keys });
      for (const w of r.warnings) this.log({ level: 'warn', event: 'schedule.warning', msg: w });
      for (const x of r.added)
        this.log({ event: 'schedule.job-scheduler', action: 'added', entry: x.name, queue: x.queue, job: x.job, when: x.cron ?? `every ${x.everyMs}ms` });
      for (const x of r.changed) this.log({ event: 'schedule.job-scheduler', action: 'changed', entry: x.name, queue: x.queue, changes: x.changes });
      for (const x of r.removed) this.log({ event: 'schedule.job-scheduler', action: 'removed', entry: x.name, queue: x.queue });
      for (const x of r.kept) {
        this.log({
          level: 'warn',
          event: 'schedule.orphan',
          entry: x.name,
          queue: x.queue,
          msg: 'job scheduler in Redis that is not in the schedule; `rqctl schedule sync` removes it',
        });
      }
      this.log({ event: 'schedule.synced', added: r.added.length, changed: r.changed.length, removed: r.removed.length, unchanged: r.unchanged.length });
    } catch (e) {
      if (e instanceof ConfigError) throw e;
      // Command entries can still run; the job schedulers already in Redis keep firing.
      this.log({ level: 'error', event: 'schedule.sync-failed', msg: (e as Error).message });
    }
  }

  private async beat(): Promise<void> {
    const beat = {
      id: this.id,
      host: this.host,
      pid: process.pid,
      startedAt: this.startedAt,
      beatAt: Date.now(),
      mode: this.once ? ('once' as const) : ('daemon' as const),
      entries: this.entries.length,
    };
    try {
      await writeSchedulerHeartbeat(this.client, this.keys, beat, this.once ? ONCE_HEARTBEAT_TTL_MS : HEARTBEAT_TTL_MS);
    } catch (e) {
      this.log({ level: 'warn', event: 'scheduler.heartbeat-failed', msg: (e as Error).message });
    }
  }

  /** Sets the timer for the soonest tick of any command entry. */
  arm(): void {
    if (this.stopping || this.commands.length === 0) return;
    const now = Date.now();
    let soonest = Infinity;
    for (const e of this.commands) {
      // Recomputed from now on every wake-up, so a clock set back does not leave a tick hours away.
      const n = nextRunAfter(e, now);
      if (n === undefined) this.next.delete(e.name);
      else {
        this.next.set(e.name, n);
        soonest = Math.min(soonest, n);
      }
    }
    if (soonest === Infinity) return;
    // Wake at least once a minute: setTimeout has a 24.8-day limit and clocks get adjusted.
    this.timer = setTimeout(() => this.fire(), Math.min(Math.max(soonest - now, 0), 60_000));
  }

  private fire(): void {
    const now = Date.now();
    for (const e of this.commands) {
      const t = this.next.get(e.name);
      if (t !== undefined && t <= now) this.tick(e, t);
    }
    this.arm();
  }

  async runOnce(): Promise<void> {
    const now = Date.now();
    const due = this.commands.flatMap((e) => {
      const t = dueInWindow(e, now);
      return t === undefined ? [] : [{ e, t }];
    });
    this.log({ event: 'scheduler.once', due: due.map((d) => d.e.name) });
    for (const { e, t } of due) this.tick(e, t);
    await Promise.allSettled([...this.runs]);
  }

  private tick(e: PlannedEntry, tickMs: number): void {
    if (this.claiming.has(e.name)) {
      this.log({
        level: 'warn',
        event: 'tick.skipped',
        entry: e.name,
        tick: new Date(tickMs).toISOString(),
        reason: 'Redis has not answered the previous tick yet',
      });
      return;
    }
    const run = this.runTick(e, tickMs).catch((err: Error) => {
      this.log({ level: 'error', event: 'tick.failed', entry: e.name, tick: new Date(tickMs).toISOString(), msg: err.message });
    });
    this.runs.add(run);
    void run.finally(() => this.runs.delete(run));
  }

  private async runTick(e: PlannedEntry, tickMs: number): Promise<void> {
    const tick = new Date(tickMs).toISOString();
    // onOneServer (the default): one run per tick across all servers. Without it: one per server.
    const host = e.onOneServer ? undefined : this.host;
    const tickKey = this.keys.tick(e.name, tickMs, host);
    this.claiming.add(e.name);
    let claimed: string | null;
    try {
      claimed = await this.client.set(tickKey, this.id, 'PX', tickLockTtl(e, tickMs), 'NX');
    } finally {
      this.claiming.delete(e.name);
    }
    if (claimed !== 'OK') {
      this.log({ level: 'debug', event: 'tick.taken', entry: e.name, tick, msg: 'another scheduler runs this tick' });
      return;
    }
    const late = Date.now() - tickMs;
    if (!this.once && late > lateLimit(e, tickMs)) {
      this.log({
        level: 'warn',
        event: 'tick.missed',
        entry: e.name,
        tick,
        lateMs: late,
        msg: 'Redis answered too late; the tick is skipped rather than run late',
      });
      return;
    }
    if (this.stopping) {
      // Shutting down: hand the tick back so another scheduler can still take it.
      await this.client.eval(RELEASE_LOCK_LUA, 1, tickKey, this.id);
      return;
    }
    let overlapKey: string | undefined;
    const token = `${this.id}:${tickMs}`;
    if (e.withoutOverlapping) {
      overlapKey = this.keys.running(e.name, host);
      // Held for the run's duration; its TTL bounds it if this process dies mid-run.
      const ok = await this.client.set(overlapKey, token, 'PX', e.timeoutMs + KILL_GRACE_MS + 30_000, 'NX');
      if (ok !== 'OK') {
        const holder = await this.client.get(overlapKey);
        this.log({ event: 'tick.skipped', entry: e.name, tick, reason: 'previous run still going (withoutOverlapping)', holder: holder ?? undefined });
        return;
      }
    }
    try {
      await this.execute(e, tickMs);
    } finally {
      if (overlapKey) await withFallback(this.client.eval(RELEASE_LOCK_LUA, 1, overlapKey, token), 5000, 0);
    }
  }

  private async execute(e: PlannedEntry, tickMs: number): Promise<void> {
    const tick = new Date(tickMs).toISOString();
    const record: CommandRunRecord = { entry: e.name, tick, status: 'running', startedAt: new Date().toISOString(), host: this.host, pid: process.pid };
    void recordRun(this.client, this.keys, record).catch(() => {});
    this.log({ event: 'command.started', entry: e.name, tick, command: e.command, when: describeWhen(e) });
    const run = runShellCommand(e.command!, {
      timeoutMs: e.timeoutMs,
      env: { RQCTL_SCHEDULE_ENTRY: e.name, RQCTL_SCHEDULE_TICK: tick },
      onLine: (stream, line) => this.log({ level: stream === 'stderr' ? 'warn' : 'info', event: 'command.output', entry: e.name, stream, line }),
      onTruncated: () => this.log({ level: 'warn', event: 'command.output-truncated', entry: e.name, msg: 'more output than the scheduler logs per run' }),
    });
    this.children.add(run);
    const r = await run.result;
    this.children.delete(run);
    const status: CommandRunRecord['status'] = r.error ? 'error' : r.timedOut ? 'timed-out' : r.exitCode === 0 ? 'ok' : 'failed';
    const done: CommandRunRecord = {
      ...record,
      status,
      finishedAt: new Date().toISOString(),
      durationMs: r.durationMs,
      exitCode: r.exitCode,
      signal: r.signal,
      error: r.error ?? (r.timedOut ? `timed out after ${Math.round(e.timeoutMs / 1000)} s` : r.killed ? 'stopped by shutdown' : undefined),
    };
    await withFallback(
      recordRun(this.client, this.keys, done).then(() => true),
      5000,
      false,
    ).catch(() => false);
    this.log({
      level: status === 'ok' ? 'info' : 'error',
      event: 'command.finished',
      entry: e.name,
      tick,
      status,
      exitCode: r.exitCode,
      signal: r.signal ?? undefined,
      durationMs: r.durationMs,
      msg: done.error,
    });
  }

  close(options: { force?: boolean } = {}): Promise<void> {
    if (options.force) for (const c of this.children) c.stop();
    this.closing ??= (async () => {
      this.stopping = true;
      clearTimeout(this.timer);
      clearInterval(this.heartbeatTimer);
      if (this.children.size > 0) this.log({ event: 'scheduler.waiting', running: this.children.size, msg: 'waiting for running commands to finish' });
      // Running commands end on their own or at their timeout. A tick still waiting for Redis (down
      // while we stop) would wait forever: after a few seconds the connection is closed under it.
      const started = Date.now();
      while (this.runs.size > 0 && (this.children.size > 0 || Date.now() - started < 5000)) {
        await withFallback(
          Promise.allSettled([...this.runs]).then(() => undefined),
          500,
          undefined,
        );
      }
      await (await this.alerts)?.close();
      // A `--once` run leaves its heartbeat to expire: cron starts the next one within the minute.
      if (!this.once) await withFallback(removeSchedulerHeartbeat(this.client, this.keys, this.id), 2000, undefined).catch(() => {});
      await closeClient(this.client);
      await withFallback(
        Promise.allSettled([...this.runs]).then(() => undefined),
        2000,
        undefined,
      );
      if (!this.once) this.log({ event: 'scheduler.stopped', id: this.id });
      this.resolveDone();
    })();
    return this.closing;
  }
}
