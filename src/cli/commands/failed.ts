import type { Command } from 'commander';
import { withQueueClient } from '../clients.js';
import { action, intOption } from '../context.js';
import type { Output } from '../render.js';
import { usageError } from '../../errors.js';
import type { FailedFilter } from '../../queue/failed-filter.js';

/** Commands of the "failed" group. Keep this file light: import core modules inside the actions. */

interface FilterFlags {
  queue?: string;
  name?: string;
  error?: string;
  since?: string;
  limit?: number;
}

function addFilters(cmd: Command, what: string): Command {
  return cmd
    .option('--queue <names>', `only these queues (comma list; default: every queue in Redis)`)
    .option(
      '--name <job>',
      `only jobs of this type: FetchStockData, FetchStockData:getStockQuote, getStockQuote (case-insensitive, * wildcard, comma for several)`,
    )
    .option('--error <regex>', `only jobs whose failure reason matches (case-insensitive regular expression)`)
    .option('--since <when>', `only jobs that failed within this time (30m, 1h, 2d) or after this date (2024-05-01T10:00)`)
    .option('--limit <n>', `at most N ${what} (0 = no limit)`, intOption('--limit', 0));
}

async function toFilter(flags: FilterFlags): Promise<FailedFilter> {
  const [{ parseQueueList }, { parseSince, compileFilter }] = await Promise.all([import('../../queue/failed.js'), import('../../queue/failed-filter.js')]);
  const filter: FailedFilter = {
    queues: parseQueueList(flags.queue),
    name: flags.name,
    error: flags.error,
    since: flags.since !== undefined ? parseSince(flags.since) : undefined,
  };
  compileFilter(filter); // bad --error / --name: exit 2 before connecting
  return filter;
}

/** `3m ago`, for the "when" column. */
function ago(ms: number | null, now = Date.now()): string {
  if (ms === null) return '-';
  const d = Math.max(0, now - ms);
  if (d < 1000) return 'just now';
  const s = Math.floor(d / 1000);
  if (s < 60) return `${s}s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m ago`;
  return `${Math.floor(h / 24)}d ago`;
}

function iso(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}

function truncate(s: string, n: number): string {
  const line = s.split('\n')[0];
  return line.length > n ? `${line.slice(0, n - 1)}…` : line;
}

function warnCorrupt(out: Output, corrupt: { id: string; queue: string; error: string }[], verb: string): void {
  if (!corrupt.length) return;
  out.warn(`${corrupt.length} corrupt job hash${corrupt.length > 1 ? 'es' : ''} ${verb} (BullMQ cannot load them):`);
  for (const c of corrupt.slice(0, 20)) out.info(`  ${c.queue} ${c.id}: ${c.error}`);
  if (corrupt.length > 20) out.info(`  … and ${corrupt.length - 20} more (--json lists all)`);
  out.info(`  \`rqctl failed forget <id> --queue <queue>\` removes them, \`rqctl failed show <id>\` shows the raw fields`);
}

/** The prompt and the refusal of a destructive command, from one phrase ("remove 3 failed jobs"). */
function question(what: string, yes: boolean | undefined): [string, { yes?: boolean; what: string }] {
  return [`${what[0].toUpperCase()}${what.slice(1)}?`, { yes, what }];
}

export function register(program: Command): void {
  const failed = program.command('failed').description('failed jobs: list, show, retry, forget, flush, export');

  addFilters(
    failed.command('list', { isDefault: true }).description('failed jobs, newest first, with their reason (corrupt job hashes are listed apart)'),
    'jobs listed (default 100; `total` still counts all)',
  ).action(
    action(async (ctx, flags: FilterFlags) => {
      const { out } = ctx;
      const filter = await toFilter(flags);
      const limit = flags.limit ?? 100;
      const { listFailed } = await import('../../queue/failed.js');
      const list = await withQueueClient(ctx, (client, config) => listFailed(config, client, filter, limit));
      out.result({ total: list.total, jobs: list.jobs, corrupt: list.corrupt }, () => {
        if (list.jobs.length === 0)
          out.info(`no failed jobs${filter.name || filter.error || filter.since ? ' match' : ''} (queues: ${list.queues.join(', ')})`);
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
                ago(j.finishedOn),
              ]),
            ),
          );
          if (list.total > list.jobs.length)
            out.info(`showing the newest ${list.jobs.length} of ${list.total}; --limit 0 lists all, \`rqctl failed export\` writes them as JSON lines`);
          else out.info(`${list.total} failed job${list.total === 1 ? '' : 's'}`);
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
    }),
  );

  failed
    .command('show <id>')
    .description('one failed job: payload, reason, stack trace, attempts, timeline, logs')
    .option('--queue <names>', 'the queue holding the job (without it every queue is searched)')
    .action(
      action(async (ctx, id: string, flags: { queue?: string }) => {
        const { out } = ctx;
        const { showFailed, parseQueueList } = await import('../../queue/failed.js');
        const queues = parseQueueList(flags.queue);
        const job = await withQueueClient(ctx, (client, config) => showFailed(config, client, id, queues));
        out.result(job, () => {
          out.line(
            out.kv([
              ['id', job.id],
              ['queue', job.queue],
              ['job', job.method ? `${job.name} ${job.method}` : job.name],
              ['state', job.corrupt ? out.c.red('failed, corrupt') : out.c.red('failed')],
              ['attempts', job.corrupt ? job.attemptsMade : `${job.attemptsMade} of ${job.attempts}`],
              ['added', `${iso(job.timestamp) ?? '-'}${job.delay ? ` (delay ${job.delay} ms)` : ''}`],
              ['processed', iso(job.processedOn)],
              ['failed', job.finishedOn ? `${iso(job.finishedOn)} (${ago(job.finishedOn)})` : null],
              ...(job.parentKey ? ([['parent', job.parentKey]] as [string, string][]) : []),
            ]),
          );
          if (job.corrupt) {
            out.line();
            out.line(out.c.red(`corrupt: ${job.corrupt}`));
          }
          out.line();
          out.line(out.c.bold('reason'));
          out.line(`  ${job.failedReason || '-'}`);
          out.line();
          out.line(out.c.bold(job.corrupt ? 'payload (raw, as stored)' : 'payload'));
          const payload = job.corrupt ? String(job.data) : JSON.stringify(job.data, null, 2);
          out.line(payload.replace(/^/gm, '  '));
          if (job.stacktrace.length) {
            out.line();
            out.line(out.c.bold(`stack trace${job.stacktrace.length > 1 ? ` (last of ${job.stacktrace.length} attempts)` : ''}`));
            out.line(job.stacktrace[job.stacktrace.length - 1].replace(/^/gm, '  '));
          }
          if (job.logCount) {
            out.line();
            out.line(out.c.bold(`logs (${job.logs.length < job.logCount ? `last ${job.logs.length} of ${job.logCount}` : job.logCount})`));
            for (const l of job.logs) out.line(`  ${l}`);
          }
        });
      }),
    );

  addFilters(
    failed
      .command('retry <ids...>')
      .description('move failed jobs back to waiting: ids, or `all` (with filters); batched, memory stays flat')
      .option('--dry-run', 'say what would be retried, change nothing'),
    'jobs retried',
  ).action(
    action(async (ctx, ids: string[], flags: FilterFlags & { dryRun?: boolean }) => {
      const { out } = ctx;
      const all = ids.length === 1 && ids[0].toLowerCase() === 'all';
      if (!all && ids.some((i) => i.toLowerCase() === 'all')) throw usageError('give job ids or `all`, not both');
      if (!all && (flags.name !== undefined || flags.error !== undefined || flags.since !== undefined || flags.limit !== undefined)) {
        throw usageError(
          '--name, --error, --since and --limit select jobs for `retry all`; with job ids only --queue applies',
          'use `rqctl failed retry all --name …`, or list the ids',
        );
      }
      const filter = await toFilter(flags);
      const [{ retryFailed }, { locateFailed }] = await Promise.all([import('../../queue/failed-ops.js'), import('../../queue/failed.js')]);
      const res = await withQueueClient(ctx, async (client, config) => {
        const selection = all ? { filter, limit: flags.limit ?? 0 } : { ids: await locateFailed(config, client, ids, filter.queues) };
        return retryFailed(config, client, selection, !!flags.dryRun);
      });
      if (res.corruptMoved && res.corrupt.length) {
        out.warn(
          `${res.corrupt.length} of them ${res.corrupt.length > 1 ? 'are corrupt job hashes' : 'is a corrupt job hash'}: \`retry all\` without filters moves them too (BullMQ's server-side bulk retry does not read jobs) and a worker fails them again; \`rqctl failed forget\` them first, or add a filter to skip them`,
        );
      } else warnCorrupt(out, res.corrupt, 'skipped');
      for (const s of res.skipped.slice(0, 20)) out.warn(`${s.queue} ${s.id} not retried: ${s.reason}`);
      for (const q of res.pausedQueues ?? []) out.warn(`queue ${q} is paused: its retried jobs wait for \`rqctl queue resume ${q}\``);
      out.result(
        {
          retried: res.retried,
          ...(res.dryRun ? { dryRun: true } : {}),
          queues: res.queues,
          corrupt: res.corrupt,
          ...(res.corruptMoved ? { corruptMoved: true } : {}),
          skipped: res.skipped,
        },
        () => {
          const per = res.queues.filter((q) => q.retried > 0).map((q) => `${q.name}: ${q.retried}`);
          out.line(
            `${res.dryRun ? 'would retry' : 'retried'} ${res.retried} failed job${res.retried === 1 ? '' : 's'}${per.length ? ` (${per.join(', ')})` : ''}${res.dryRun ? ' (dry run, nothing changed)' : ''}`,
          );
        },
      );
    }),
  );

  failed
    .command('forget <ids...>')
    .description('remove failed jobs by id (corrupt ones too); asks on a terminal, needs --yes otherwise')
    .option('--queue <names>', 'the queue holding the jobs (without it every queue is searched)')
    .option('-y, --yes', 'do not ask')
    .option('--dry-run', 'say what would be removed, change nothing')
    .action(
      action(async (ctx, ids: string[], flags: { queue?: string; yes?: boolean; dryRun?: boolean }) => {
        const { out } = ctx;
        const [{ parseQueueList, locateFailed }, { forgetFailed }, { confirmDestructive }] = await Promise.all([
          import('../../queue/failed.js'),
          import('../../queue/failed-ops.js'),
          import('../confirm.js'),
        ]);
        const queues = parseQueueList(flags.queue);
        const res = await withQueueClient(ctx, async (client, config) => {
          const located = await locateFailed(config, client, ids, queues);
          const desc = located.length <= 5 ? located.map((l) => `${l.queue} ${l.id}`).join(', ') : `${located.length} jobs`;
          if (!flags.dryRun && !(await confirmDestructive(...question(`remove failed job${located.length > 1 ? 's' : ''} ${desc}`, flags.yes)))) return null;
          return forgetFailed(config, client, located, !!flags.dryRun);
        });
        if (!res) {
          // Declining is the operator's choice, not an error: exit 0, nothing changed.
          out.result({ removed: 0, declined: true }, () => out.info('not confirmed: nothing removed'));
          return 0;
        }
        if ('skipped' in res) for (const s of res.skipped) out.warn(`${s.queue} ${s.id} not removed: ${s.reason}`);
        out.result(
          { removed: res.removed, ...(res.dryRun ? { dryRun: true } : {}), ...('skipped' in res && res.skipped.length ? { skipped: res.skipped } : {}) },
          () =>
            out.line(
              `${res.dryRun ? 'would remove' : 'removed'} ${res.removed} failed job${res.removed === 1 ? '' : 's'}${res.dryRun ? ' (dry run, nothing changed)' : ''}`,
            ),
        );
      }),
    );

  failed
    .command('flush')
    .description('remove all failed jobs (or those older than --hours), corrupt ones too; asks on a terminal, needs --yes otherwise')
    .option('--queue <names>', 'only these queues (comma list; default: every queue in Redis)')
    .option('--hours <n>', 'only jobs that failed more than N hours ago', (v: string) => {
      const n = Number(v);
      if (!/^\d+(\.\d+)?$/.test(v.trim()) || !Number.isFinite(n)) throw usageError(`--hours must be a number of hours ≥ 0 (got "${v}")`);
      return n;
    })
    .option('-y, --yes', 'do not ask')
    .option('--dry-run', 'say what would be removed, change nothing')
    .action(
      action(async (ctx, flags: { queue?: string; hours?: number; yes?: boolean; dryRun?: boolean }) => {
        const { out } = ctx;
        const [{ parseQueueList }, { planFlush, flushFailed }, { confirmDestructive }] = await Promise.all([
          import('../../queue/failed.js'),
          import('../../queue/failed-ops.js'),
          import('../confirm.js'),
        ]);
        const queues = parseQueueList(flags.queue);
        const res = await withQueueClient(ctx, async (client, config) => {
          const plan = await planFlush(config, client, queues, flags.hours);
          const age = flags.hours !== undefined ? ` that failed more than ${flags.hours} h ago` : '';
          if (flags.dryRun || plan.total === 0)
            return { removed: plan.total, dryRun: !!flags.dryRun, queues: plan.queues.map((q) => ({ name: q.name, removed: q.count })) };
          const per = plan.queues.filter((q) => q.count > 0).map((q) => `${q.name}: ${q.count}`);
          if (!(await confirmDestructive(...question(`remove ${plan.total} failed job${plan.total === 1 ? '' : 's'}${age} (${per.join(', ')})`, flags.yes))))
            return null;
          return flushFailed(config, client, plan);
        });
        if (!res) {
          // Declining is the operator's choice, not an error: exit 0, nothing changed.
          out.result({ removed: 0, declined: true }, () => out.info('not confirmed: nothing removed'));
          return 0;
        }
        out.result({ removed: res.removed, ...(res.dryRun ? { dryRun: true } : {}) }, () => {
          const per = res.queues.filter((q) => q.removed > 0).map((q) => `${q.name}: ${q.removed}`);
          out.line(
            `${res.dryRun ? 'would remove' : 'removed'} ${res.removed} failed job${res.removed === 1 ? '' : 's'}${per.length ? ` (${per.join(', ')})` : ''}${res.dryRun ? ' (dry run, nothing changed)' : ''}`,
          );
        });
      }),
    );

  addFilters(
    failed
      .command('export')
      .description('failed jobs as JSON lines, one object per job with payload, reason and stack (corrupt ones with their raw fields)')
      .option('--out <file>', 'write to this file (default: stdout)'),
    'jobs exported',
  ).action(
    action(async (ctx, flags: FilterFlags & { out?: string }) => {
      const { out } = ctx;
      const filter = await toFilter(flags);
      const { exportFailed } = await import('../../queue/failed.js');
      const { createLineSink } = await import('../line-sink.js');
      const sink = await createLineSink(flags.out);
      let res: Awaited<ReturnType<typeof exportFailed>>;
      try {
        res = await withQueueClient(ctx, (client, config) => exportFailed(config, client, filter, flags.limit ?? 0, (rec) => sink.write(JSON.stringify(rec))));
      } catch (e) {
        await sink.abort();
        if (sink.closedByReader) return 0; // `| head`: the reader has what it wanted
        throw e;
      }
      await sink.finish();
      const note = `exported ${res.exported} failed job${res.exported === 1 ? '' : 's'}${res.corrupt ? ` (${res.corrupt} corrupt, with raw fields)` : ''}${flags.out ? ` to ${flags.out}` : ''}`;
      if (flags.out) out.result({ exported: res.exported, corrupt: res.corrupt, out: flags.out }, () => out.line(note));
      else out.info(note);
    }),
  );
}
