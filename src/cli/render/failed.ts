import type { Output } from '../render.js';
import type { ExportResult, FailedJobDetail } from '../../queue/failed/detail.js';
import type { FailedList } from '../../queue/failed/list.js';
import type { Located } from '../../queue/failed/locate.js';
import type { FlushPlan, RemoveResult } from '../../queue/failed/remove.js';
import type { RetryResult } from '../../queue/failed/retry.js';
import { isDeclined, type Declined } from '../../util/confirm.js';
import { formatAgo } from '../../util/duration.js';
import { printDeclined } from './declined.js';
import { printJobDetail } from './job-detail.js';

/** What the `failed` commands print: tables and summaries on a terminal, their results as JSON with --json. */

/** The first line of a text, cut to `n` characters. */
function truncate(s: string, n: number): string {
  const line = s.split('\n')[0];
  return line.length > n ? `${line.slice(0, n - 1)}…` : line;
}

const jobs = (n: number) => `failed job${n === 1 ? '' : 's'}`;

/** `failed list`. `filtered`: --name, --error or --since narrowed it ("no failed jobs match"). */
export function printFailedList(out: Output, list: FailedList, opts: { filtered: boolean; now?: number }): void {
  const now = opts.now ?? Date.now();
  out.result({ total: list.total, jobs: list.jobs, corrupt: list.corrupt }, () => {
    if (list.jobs.length === 0) out.info(`no failed jobs${opts.filtered ? ' match' : ''} (queues: ${list.queues.join(', ')})`);
    else {
      out.line(
        out.table(
          ['id', 'queue', 'job', 'reason', 'attempts', 'failed'],
          list.jobs.map((j) => [
            j.id,
            j.queue,
            j.method ? `${j.name}:${j.method}` : j.name,
            truncate(j.failedReason, 60),
            `${j.attemptsMade}/${j.attempts}`,
            j.finishedOn === null ? '-' : formatAgo(j.finishedOn, now),
          ]),
        ),
      );
      if (list.total > list.jobs.length)
        out.info(`showing the newest ${list.jobs.length} of ${list.total}; --limit 0 lists all, \`rqctl failed export\` writes them as JSON lines`);
      else out.info(`${list.total} ${jobs(list.total)}`);
    }
    if (list.corrupt.length) {
      out.line();
      out.line(`corrupt job hashes (${list.corrupt.length}): BullMQ cannot load these; \`rqctl failed forget <id> --queue <queue>\` removes them`);
      out.line(
        out.table(
          ['id', 'queue', 'error'],
          list.corrupt.map((c) => [c.id, c.queue, truncate(c.error, 90)]),
        ),
      );
    }
  });
}

/** `failed show <id>`: the fields, then reason, payload, the last stack trace and the logs. */
export function printFailedJob(out: Output, job: FailedJobDetail, now = Date.now()): void {
  printJobDetail(out, job, now);
}

/** Corrupt jobs a retry left alone: they stay in the failed set (a worker could not load them). */
function warnCorrupt(out: Output, corrupt: { id: string; queue: string; error: string }[]): void {
  if (!corrupt.length) return;
  const many = corrupt.length > 1;
  out.warn(
    `${corrupt.length} corrupt job hash${many ? 'es' : ''} ${many ? 'stay' : 'stays'} in the failed set, not retried (BullMQ cannot load ${many ? 'them' : 'it'}):`,
  );
  for (const c of corrupt.slice(0, 20)) out.info(`  ${c.queue} ${c.id}: ${c.error}`);
  if (corrupt.length > 20) out.info(`  … and ${corrupt.length - 20} more (--json lists all)`);
  out.info(`  \`rqctl failed forget <id> --queue <queue>\` removes them, \`rqctl failed show <id>\` shows the raw fields`);
}

/** `failed retry`: warnings about corrupt, skipped and paused on stderr, then the count. */
export function printRetry(out: Output, res: RetryResult): void {
  warnCorrupt(out, res.corrupt);
  for (const s of res.skipped.slice(0, 20)) out.warn(`${s.queue} ${s.id} not retried: ${s.reason}`);
  for (const q of res.pausedQueues ?? []) out.warn(`queue ${q} is paused: its retried jobs wait for \`rqctl queue resume ${q}\``);
  out.result(
    {
      retried: res.retried,
      ...(res.dryRun ? { dryRun: true } : {}),
      queues: res.queues,
      corrupt: res.corrupt,
      skipped: res.skipped,
    },
    () => {
      const per = res.queues.filter((q) => q.retried > 0).map((q) => `${q.name}: ${q.retried}`);
      out.line(
        `${res.dryRun ? 'would retry' : 'retried'} ${res.retried} ${jobs(res.retried)}${per.length ? ` (${per.join(', ')})` : ''}${res.dryRun ? ' (dry run, nothing changed)' : ''}`,
      );
    },
  );
}

/** What `failed forget` asks before removing: "remove failed jobs default 3, default 4". */
export function forgetPhrase(located: readonly Located[]): string {
  const desc = located.length <= 5 ? located.map((l) => `${l.queue} ${l.id}`).join(', ') : `${located.length} jobs`;
  return `remove failed job${located.length > 1 ? 's' : ''} ${desc}`;
}

/** `failed forget`. */
export function printForget(out: Output, res: RemoveResult | Declined): void {
  if (isDeclined(res)) return printDeclined(out);
  for (const s of res.skipped) out.warn(`${s.queue} ${s.id} not removed: ${s.reason}`);
  out.result({ removed: res.removed, ...(res.dryRun ? { dryRun: true } : {}), ...(res.skipped.length ? { skipped: res.skipped } : {}) }, () =>
    out.line(`${res.dryRun ? 'would remove' : 'removed'} ${res.removed} ${jobs(res.removed)}${res.dryRun ? ' (dry run, nothing changed)' : ''}`),
  );
}

/** What `failed flush` asks before removing: "remove 12 failed jobs that failed more than 2 h ago (default: 12)". */
export function flushPhrase(plan: FlushPlan): string {
  const age = plan.hours !== undefined ? ` that failed more than ${plan.hours} h ago` : '';
  const per = plan.queues.filter((q) => q.count > 0).map((q) => `${q.name}: ${q.count}`);
  return `remove ${plan.total} ${jobs(plan.total)}${age} (${per.join(', ')})`;
}

/** `failed flush`. */
export function printFlush(out: Output, res: RemoveResult | Declined): void {
  if (isDeclined(res)) return printDeclined(out);
  out.result({ removed: res.removed, ...(res.dryRun ? { dryRun: true } : {}) }, () => {
    const per = res.queues.filter((q) => q.removed > 0).map((q) => `${q.name}: ${q.removed}`);
    out.line(
      `${res.dryRun ? 'would remove' : 'removed'} ${res.removed} ${jobs(res.removed)}${per.length ? ` (${per.join(', ')})` : ''}${res.dryRun ? ' (dry run, nothing changed)' : ''}`,
    );
  });
}

/** `failed export`: the JSON lines went to stdout or `file`; this is the summary (stderr when the lines took stdout). */
export function printExport(out: Output, res: ExportResult, file: string | undefined): void {
  const note = `exported ${res.exported} ${jobs(res.exported)}${res.corrupt ? ` (${res.corrupt} corrupt, with raw fields)` : ''}${file ? ` to ${file}` : ''}`;
  if (file) out.result({ exported: res.exported, corrupt: res.corrupt, out: file }, () => out.line(note));
  else out.info(note);
}
