/**
 * What long-running processes report. The runtime never prints: it calls the `log` callback it was
 * given with plain objects, and the CLI renders them (src/cli/render.ts `eventLogger`: readable lines
 * on a terminal, one JSON object per line otherwise). The shape matches the CLI's LogEvent.
 */
export interface RuntimeEvent {
  level?: 'info' | 'warn' | 'error' | 'debug';
  /** A short stable name scripts can filter on: `processing`, `processed`, `failed`, `stopping`… */
  event: string;
  msg?: string;
  [field: string]: unknown;
}

export type EventLog = (e: RuntimeEvent) => void;

/**
 * The two lines every job logs, `processing` and `processed`, as objects of one fixed shape (the
 * same own fields, in the same order, as the literal they replace). A renderer that recognises them
 * may write them from a template instead of walking a generic object: they are half of everything a
 * busy worker does besides BullMQ's own work (bench/profile-worker.mjs, docs/worker.md).
 */
export class JobStartedEvent implements RuntimeEvent {
  [field: string]: unknown;
  readonly event: 'processing';
  readonly msg: string;
  readonly queue: string;
  readonly job: string;
  readonly id: string | undefined;
  readonly attempt: number;

  constructor(queue: string, job: string, id: string | undefined, attempt: number) {
    this.event = 'processing';
    this.msg = `${job} #${id}`;
    this.queue = queue;
    this.job = job;
    this.id = id;
    this.attempt = attempt;
  }
}

/** A job BullMQ recorded as completed (see JobStartedEvent); durationMs is undefined for a job this worker did not begin. */
export class JobDoneEvent implements RuntimeEvent {
  [field: string]: unknown;
  readonly event: 'processed';
  readonly msg: string;
  readonly queue: string;
  readonly job: string;
  readonly id: string | undefined;
  readonly durationMs: number | undefined;

  constructor(queue: string, job: string, id: string | undefined, durationMs: number | undefined) {
    this.event = 'processed';
    this.msg = `${job} #${id}`;
    this.queue = queue;
    this.job = job;
    this.id = id;
    this.durationMs = durationMs;
  }
}
