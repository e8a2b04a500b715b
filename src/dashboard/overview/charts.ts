import type { JobMetrics } from '../../queue/metrics.js';
import type { Charts, QueueView, TimeSeries } from './types.js';

/** BullMQ's per-minute metrics as the page's chart data: one time axis, one series per queue. */
export function toTimeSeries(m: JobMetrics, bucketMinutes = 1): TimeSeries {
  const points = Math.floor(m.minutes / bucketMinutes);
  const times = Array.from({ length: points }, (_, i) => m.start + i * bucketMinutes * 60);
  const bucket = (values: number[]) => {
    if (bucketMinutes === 1) return values;
    const out: number[] = [];
    for (let i = 0; i < points; i++) {
      let sum = 0;
      for (let j = 0; j < bucketMinutes; j++) sum += values[i * bucketMinutes + j];
      // Jobs per minute, averaged over the bucket: the same unit as the hour's chart.
      out.push(Math.round((sum / bucketMinutes) * 10) / 10);
    }
    return out;
  };
  const series = [...m.queues].map(([queue, s]) => ({ queue, completed: bucket(s.completed), failed: bucket(s.failed) }));
  return { times, stepSeconds: bucketMinutes * 60, series };
}

const HOUR_S = 3600;

/**
 * The backlog (jobs ready and not running) per queue as this dashboard saw it, the last hour. BullMQ
 * keeps no history of it, so the dashboard samples it whenever it reads the queues (at most every
 * `minStepMs`, and in the background while nobody looks; see DashboardServer).
 */
export class BacklogHistory {
  private readonly samples: { t: number; values: Map<string, number> }[] = [];

  constructor(private readonly minStepMs = 5000) {}

  /** When the last sample was taken (ms), 0 before any. */
  get lastAt(): number {
    const last = this.samples[this.samples.length - 1];
    return last ? last.t * 1000 : 0;
  }

  record(now: number, queues: readonly QueueView[]): void {
    if (now - this.lastAt < this.minStepMs) return;
    this.samples.push({ t: Math.floor(now / 1000), values: new Map(queues.map((q) => [q.name, q.backlog])) });
    const oldest = Math.floor(now / 1000) - HOUR_S;
    while (this.samples.length && this.samples[0].t < oldest) this.samples.shift();
  }

  view(queueNames: readonly string[]): Charts['backlog'] {
    return {
      times: this.samples.map((s) => s.t),
      series: queueNames.map((queue) => ({ queue, values: this.samples.map((s) => s.values.get(queue) ?? null) })),
    };
  }
}
