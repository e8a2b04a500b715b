import type { Output } from '../render.js';
import type { ActionPlan, ActionResult, JobAction } from '../../queue/find/act.js';
import type { ExportSummary } from '../../queue/find/export.js';
import type { FindResult } from '../../queue/find/find.js';
import type { CorruptJob } from '../../queue/walk/job-hash.js';
import { jobTime } from '../../queue/walk/states.js';
import { isDeclined, type Declined } from '../../util/confirm.js';
import { formatAgo } from '../../util/duration.js';
import { printDeclined } from './declined.js';

/** What `jobs find` prints: a table of the newest matches, or what an action did; the documents of docs/commands.md with --json. */

function oneLine(s: string, n: number): string {
  const line = s.replace(/\s*\n\s*/g, ' ');
  return line.length > n ? `${line.slice(0, n - 1)}…` : line;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

const VERB: Record<JobAction, { done: string; would: string }> = {
  retry: { done: 'retried', would: 'would retry' },
  remove: { done: 'removed', would: 'would remove' },
  promote: { done: 'promoted', would: 'would promote' },
};

function where(res: { queues: string[]; states: string[] }): string {
  return `queues: ${res.queues.join(', ')}; states: ${res.states.join(', ')}`;
}

function printCorruptTable(out: Output, corrupt: CorruptJob[], total: number): void {
  if (!corrupt.length) return;
  out.line();
  out.line(`corrupt job hashes (${total}): BullMQ cannot load these; \`rqctl jobs show <id> --queue <queue>\` shows their raw fields`);
  out.line(
    out.table(
      ['id', 'queue', 'state', 'error'],
      corrupt.map((c) => [c.id, c.queue, c.state, oneLine(c.error, 90)]),
    ),
  );
  if (total > corrupt.length) out.info(`… the first ${corrupt.length} of ${total} corrupt job hashes are listed`);
}

/** `jobs find`. */
export function printFound(out: Output, res: FindResult, now = Date.now()): void {
  out.result({ total: res.total, jobs: res.jobs, corrupt: res.corrupt, corruptTotal: res.corruptTotal }, () => {
    if (res.jobs.length === 0) out.info(`no jobs match (${where(res)})`);
    else {
      out.line(
        out.table(
          ['id', 'queue', 'state', 'job', 'data', 'when'],
          res.jobs.map((j) => {
            const t = jobTime(j.state, j);
            return [
              j.id,
              j.queue,
              j.state,
              j.method ? `${j.name}:${j.method}` : j.name,
              oneLine(JSON.stringify(j.data) ?? '', 60),
              t === null ? '-' : formatAgo(t, now),
            ];
          }),
        ),
      );
      if (res.total > res.jobs.length)
        out.info(`showing the newest ${res.jobs.length} of ${res.total}; --limit 0 lists all, --export FILE writes them as JSON lines`);
      else out.info(plural(res.total, 'job'));
    }
    printCorruptTable(out, res.corrupt, res.corruptTotal);
  });
}

/** What `jobs find --remove` asks: "remove 12 jobs that match (queues: default; states: delayed)". */
export function actionPhrase(plan: ActionPlan): string {
  const limited = plan.count < plan.total ? ` (the first ${plan.count} of ${plan.total} that match)` : ' that match';
  return `${plan.action} ${plural(plan.count, 'job')}${limited} (${where(plan)})`;
}

function warnCorrupt(out: Output, corrupt: CorruptJob[], total: number): void {
  if (!total) return;
  out.warn(`${plural(total, 'corrupt job hash')} skipped (BullMQ cannot load them; they cannot be matched):`);
  for (const c of corrupt.slice(0, 20)) out.info(`  ${c.queue} ${c.id} (${c.state}): ${c.error}`);
  if (total > 20) out.info(`  … and ${total - 20} more (--json lists up to ${corrupt.length})`);
}

/** `jobs find --retry|--remove|--promote`. */
export function printAction(out: Output, res: ActionResult | Declined): void {
  if (isDeclined(res)) return printDeclined(out);
  const verb = VERB[res.action];
  warnCorrupt(out, res.corrupt, res.corruptTotal);
  for (const s of res.skipped.slice(0, 20)) out.warn(`${s.queue} ${s.id} not ${verb.done}: ${s.reason}`);
  if (res.skipped.length > 20) out.info(`… and ${res.skipped.length - 20} more skipped (--json lists them)`);
  for (const q of res.pausedQueues) out.warn(`queue ${q} is paused: its jobs wait for \`rqctl queue resume ${q}\``);
  out.result(
    {
      total: res.total,
      [verb.done]: res.acted,
      ...(res.dryRun ? { dryRun: true } : {}),
      skipped: res.skipped,
      corrupt: res.corrupt,
      corruptTotal: res.corruptTotal,
    },
    () => {
      const of = res.acted < res.total ? ` of ${res.total} matching` : res.total ? ' matching' : '';
      out.line(
        `${res.dryRun ? verb.would : verb.done} ${res.acted}${of} ${res.acted === 1 ? 'job' : 'jobs'}${res.dryRun ? ' (dry run, nothing changed)' : ''}`,
      );
    },
  );
}

/** `jobs find --export FILE`: the lines went to the file; this is the summary. */
export function printFindExport(out: Output, res: ExportSummary, file: string): void {
  warnCorrupt(out, res.corrupt, res.corruptTotal);
  out.result(
    { total: res.total, exported: res.exported, out: file, ...(res.dryRun ? { dryRun: true } : {}), corrupt: res.corrupt, corruptTotal: res.corruptTotal },
    () =>
      out.line(
        res.dryRun ? `would export ${plural(res.exported, 'job')} to ${file} (dry run, nothing written)` : `exported ${plural(res.exported, 'job')} to ${file}`,
      ),
  );
}
