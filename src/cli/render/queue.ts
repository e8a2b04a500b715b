import type { Output } from '../render.js';
import type { QueueClearPlan, QueueClearResult } from '../../queue/clear.js';
import type { BacklogSample } from '../../queue/monitor.js';
import type { QueueStatus } from '../../queue/status.js';
import { isDeclined, type Declined } from '../../util/confirm.js';
import { formatSpan } from '../../util/duration.js';
import { printDeclined } from './declined.js';

/** What the `queue` commands print. */

/** `queue status`. `asked`: the queues named with --queue (a name without keys is warned about). */
export function printQueueStatus(out: Output, res: { queues: QueueStatus[] }, asked: readonly string[] | undefined): void {
  for (const q of res.queues) if (asked && !q.exists) out.warn(`queue "${q.name}" has no keys in Redis (never used, or a typo?)`);
  out.result(res, () => {
    out.line(
      out.table(
        ['queue', 'waiting', 'active', 'delayed', 'failed', 'completed', 'state'],
        res.queues.map((q) => [q.name, q.waiting, q.active, q.delayed, q.failed, q.completed, q.isPaused ? out.c.yellow('paused') : 'running']),
      ),
    );
  });
}

/** `queue pause|resume`. */
export function printPauseChange(out: Output, res: { queue: string; paused: boolean; changed: boolean }): void {
  const pause = res.paused;
  out.result(res, () => out.line(`queue ${res.queue} ${res.changed ? (pause ? 'paused' : 'resumed') : pause ? 'was already paused' : 'was not paused'}`));
}

/** What `queue clear` asks: "remove 5 jobs from queue default (waiting 4, delayed 1)". */
export function queueClearPhrase(plan: QueueClearPlan): string {
  return `remove ${plan.total} job${plan.total === 1 ? '' : 's'} from queue ${plan.queue} (waiting ${plan.waiting}, delayed ${plan.delayed})`;
}

/** `queue clear`. */
export function printQueueClear(out: Output, res: QueueClearResult | Declined): void {
  if (isDeclined(res)) return printDeclined(out);
  out.result({ removed: res.removed, waiting: res.waiting, delayed: res.delayed, ...(res.dryRun ? { dryRun: true } : {}) }, () =>
    out.line(
      `${res.dryRun ? 'would remove' : 'removed'} ${res.removed} job${res.removed === 1 ? '' : 's'} from ${res.queue} (waiting ${res.waiting}, delayed ${res.delayed})${res.dryRun ? ' (dry run, nothing changed)' : ''}`,
    ),
  );
}

/** How `queue monitor` shows a sample: JSON lines, one table (--once), or a line per queue (watching a terminal). */
export type BacklogView = 'json-lines' | 'table' | 'lines';

const age = (ms: number | null) => (ms === null ? '-' : formatSpan(ms));

/** One `queue monitor` sample; thresholds crossed are warned about on stderr. */
export function printBacklogSample(out: Output, sample: BacklogSample, view: BacklogView): void {
  for (const q of sample.queues) if (q.breaches.length) out.warn(`queue ${q.name}: ${q.breaches.join(', ')}`);
  if (view === 'json-lines') {
    out.line(JSON.stringify(sample));
    return;
  }
  const check = (q: { breaches: string[] }) => (q.breaches.length ? out.c.red('over') : out.c.green('ok'));
  if (view === 'table') {
    out.line(
      out.table(
        ['queue', 'size', 'oldest wait', 'active', 'state', 'check'],
        sample.queues.map((q) => [q.name, q.size, age(q.oldestWaitMs), q.active, q.isPaused ? 'paused' : 'running', check(q)]),
      ),
    );
    return;
  }
  const ts = sample.time.replace('T', ' ').slice(0, 19);
  for (const q of sample.queues) {
    out.line(`${out.c.dim(ts)} ${q.name.padEnd(12)} size=${q.size} oldest=${age(q.oldestWaitMs)} active=${q.active}${q.isPaused ? ' paused' : ''} ${check(q)}`);
  }
}
