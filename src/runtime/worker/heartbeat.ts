import type { Config } from '../../config/resolve.js';
import type { RedisClient } from '../../redis/connect.js';
import { withTimeout } from '../../util/timeout.js';
import type { EventLog } from '../events.js';
import { HEARTBEAT_INTERVAL_MS, removeWorkerHeartbeat, writeWorkerHeartbeat, type WorkerRecord } from '../worker-registry.js';
import type { WorkerIdentity, WorkerSettings, WorkerStats } from './settings.js';

/**
 * This worker's record in the queue role, as `rqctl workers` shows it. Written every
 * HEARTBEAT_INTERVAL_MS, and within a second of a change (a job started or ended), so `rqctl
 * workers` is never more than about a second behind.
 */
export class WorkerHeartbeat {
  private readonly startedAt = Date.now();
  private lastAt = 0;
  /** The counts last written: `done/failed/running`. */
  private lastOf = '';
  /** When a job last finished (or the worker started): `rqctl doctor` spots a worker that stopped making progress. */
  private progressAt = this.startedAt;
  private finished = 0;

  constructor(
    private readonly config: Config,
    private readonly client: RedisClient,
    private readonly identity: WorkerIdentity,
    private readonly settings: WorkerSettings,
    private readonly stats: WorkerStats,
    private readonly log: EventLog,
  ) {}

  /** Writes the record when it changed or is due (always with `force`); a failure is only logged. */
  async write(force = false): Promise<void> {
    const { stats } = this;
    const of = `${stats.jobsDone}/${stats.jobsFailed}/${stats.running}`;
    const now = Date.now();
    if (!force && of === this.lastOf && now - this.lastAt < HEARTBEAT_INTERVAL_MS) return;
    try {
      await writeWorkerHeartbeat(this.config, this.client, this.record());
      this.lastAt = now;
      this.lastOf = of;
    } catch (e) {
      this.log({ level: 'debug', event: 'heartbeat-failed', error: (e as Error).message });
    }
  }

  /** Takes the worker off `rqctl workers`, giving up after 2 s (Redis may be gone). */
  remove(): Promise<void> {
    return withTimeout(removeWorkerHeartbeat(this.config, this.client, this.identity.id), 2000).catch(() => {});
  }

  private record(): WorkerRecord {
    const { identity, settings, stats } = this;
    if (stats.jobsDone + stats.jobsFailed !== this.finished) {
      this.finished = stats.jobsDone + stats.jobsFailed;
      this.progressAt = Date.now();
    }
    return {
      id: identity.id,
      name: identity.name,
      host: identity.host,
      pid: process.pid,
      queues: settings.queues,
      concurrency: settings.concurrency,
      started: new Date(this.startedAt).toISOString(),
      jobsDone: stats.jobsDone,
      jobsFailed: stats.jobsFailed,
      running: stats.running,
      lastSeen: new Date().toISOString(),
      progressAt: new Date(this.progressAt).toISOString(),
      version: settings.version,
    };
  }
}
