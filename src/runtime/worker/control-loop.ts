import type { Queue } from 'bullmq';
import type { Config } from '../../config/resolve.js';
import { openQueue } from '../../queue/queues.js';
import type { RedisClient } from '../../redis/connect.js';
import { withTimeout } from '../../util/timeout.js';
import { readRestart } from '../worker-registry.js';
import type { WorkerHeartbeat } from './heartbeat.js';
import type { RunningJobs } from './running-jobs.js';
import type { WriteRefusals } from './refusals.js';
import type { StopSwitch, WorkerSettings, WorkerStats } from './settings.js';

/** How often the worker looks at the restart key, its memory and its queues. */
const CONTROL_INTERVAL_MS = 1000;
/** The memory check after a job runs at most this often. */
const MEMORY_AFTER_JOB_MS = 250;

export interface ControlContext {
  config: Config;
  settings: WorkerSettings;
  client: RedisClient;
  stats: WorkerStats;
  jobs: RunningJobs;
  heartbeat: WorkerHeartbeat;
  stop: StopSwitch;
  /** The restart key's value when the worker started: another value means `rqctl worker restart`. */
  restartBaseline: string | null;
  refusals: WriteRefusals;
}

/**
 * Once a second: the heartbeat, the memory limit, `--stop-when-empty` and the restart key; and the
 * `--max-time` timer. Each reason to stop asks the worker to stop; the loop never stops it itself.
 */
export class ControlLoop {
  private readonly timers: NodeJS.Timeout[] = [];
  private busy = false;
  /** The last tick; shutdown waits for it, so no heartbeat is written after the record is removed. */
  private lastTick: Promise<void> | undefined;
  private countQueues: Queue[] | undefined;
  private memoryCheckedAt = 0;

  constructor(private readonly ctx: ControlContext) {}

  async start(): Promise<void> {
    const { settings, heartbeat, stop } = this.ctx;
    await heartbeat.write(true);
    // A stop that came while the first heartbeat was written has halted the loop already: no timers after it.
    if (stop.stopping) return;
    this.timers.push(
      setInterval(() => {
        this.lastTick = this.tick();
      }, CONTROL_INTERVAL_MS),
    );
    if (settings.maxTime > 0)
      this.timers.push(setTimeout(() => stop.requestStop('max-time', `ran for ${settings.maxTime} s (--max-time)`), settings.maxTime * 1000));
  }

  /**
   * After a job: the memory check at most every 250 ms. Reading the RSS costs ~7 µs (Node reads
   * /proc/self/stat), more than the rest of rqctl's per-job work; a worker over its limit still
   * stops taking jobs within a quarter of a second.
   */
  memoryAfterJob(): void {
    const now = Date.now();
    if (now - this.memoryCheckedAt < MEMORY_AFTER_JOB_MS) return;
    this.checkMemory();
  }

  /** Asks the worker to stop when its RSS exceeds --memory (also checked after jobs, see memoryAfterJob). */
  checkMemory(): void {
    const { memoryMb } = this.ctx.settings;
    this.memoryCheckedAt = Date.now();
    const rssMb = process.memoryUsage.rss() / 1024 / 1024;
    if (memoryMb > 0 && rssMb > memoryMb) this.ctx.stop.requestStop('memory', `memory ${Math.round(rssMb)} MB exceeds --memory ${memoryMb} MB`);
  }

  /** No more ticks; the one in progress may still finish (see `settled`). */
  halt(): void {
    for (const t of this.timers) clearInterval(t);
  }

  /** The tick in progress has finished, or 2 s have passed. */
  settled(): Promise<void> {
    return withTimeout(this.lastTick ?? Promise.resolve(), 2000).catch(() => {});
  }

  async close(): Promise<void> {
    await Promise.all((this.countQueues ?? []).map((q) => q.close().catch(() => {})));
  }

  private async tick(): Promise<void> {
    const { config, settings, client, stats, jobs, heartbeat, stop } = this.ctx;
    if (this.busy || stop.stopping) return;
    this.busy = true;
    try {
      jobs.sweep();
      await heartbeat.write();
      this.checkMemory();
      // Asked of Redis, not inferred from BullMQ's `drained` events: with concurrency > 1 they can
      // arrive out of order with `active`.
      // A worker that cannot write sees empty queues it cannot take from: not done, refused (exit 3).
      if (settings.stopWhenEmpty && !this.ctx.refusals.suspected && stats.running === 0 && jobs.size === 0 && (await this.queuesEmpty())) {
        stop.requestStop('empty', 'the queues are empty (--stop-when-empty)');
      }
      const restart = await readRestart(config, client);
      if (restart !== null && restart !== this.ctx.restartBaseline)
        stop.requestStop('restart', `restart requested at ${new Date(Number(restart)).toISOString()} (rqctl worker restart)`);
    } catch {
      /* Redis unreachable: the connection watcher reports it; try again on the next tick */
    } finally {
      this.busy = false;
    }
  }

  private async queuesEmpty(): Promise<boolean> {
    const { config, settings, client } = this.ctx;
    this.countQueues ??= settings.queues.map((q) => openQueue(config, q, client));
    const counts = await Promise.all(this.countQueues.map((q) => q.getJobCounts('wait', 'prioritized')));
    return counts.every((c) => (c.wait ?? 0) + (c.prioritized ?? 0) === 0);
  }
}
