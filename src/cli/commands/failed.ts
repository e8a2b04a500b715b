import type { Command } from 'commander';
import { withQueueClient } from '../clients.js';
import { action, intOption, queueList } from '../context.js';
import { usageError } from '../../errors.js';
import type { FailedFilter } from '../../queue/failed/filter.js';

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

/** The filter flags as the core takes them; a bad --since, --error or --name is exit 2 before connecting. */
async function toFilter(flags: FilterFlags): Promise<FailedFilter> {
  const queues = queueList(flags.queue);
  const { parseSince, compileFilter } = await import('../../queue/failed/filter.js');
  const filter: FailedFilter = { queues, name: flags.name, error: flags.error, since: flags.since !== undefined ? parseSince(flags.since) : undefined };
  compileFilter(filter);
  return filter;
}

function hoursOption(v: string): number {
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v.trim()) || !Number.isFinite(n)) throw usageError(`--hours must be a number of hours ≥ 0 (got "${v}")`);
  return n;
}

export function register(program: Command): void {
  const failed = program.command('failed').description('failed jobs: list, show, retry, forget, flush, export');
  registerList(failed);
  registerShow(failed);
  registerRetry(failed);
  registerForget(failed);
  registerFlush(failed);
  registerExport(failed);
}

function registerList(failed: Command): void {
  addFilters(
    failed.command('list', { isDefault: true }).description('failed jobs, newest first, with their reason (corrupt job hashes are listed apart)'),
    'jobs listed (default 100; `total` still counts all)',
  ).action(
    action(async (ctx, flags: FilterFlags) => {
      const filter = await toFilter(flags);
      const [{ listFailed }, { printFailedList }] = await Promise.all([import('../../queue/failed/list.js'), import('../render/failed.js')]);
      const list = await withQueueClient(ctx, (client, config) => listFailed(config, client, filter, flags.limit ?? 100));
      printFailedList(ctx.out, list, { filtered: !!(filter.name || filter.error || filter.since) });
    }),
  );
}

function registerShow(failed: Command): void {
  failed
    .command('show <id>')
    .description('one failed job: payload, reason, stack trace, attempts, timeline, logs')
    .option('--queue <names>', 'the queue holding the job (without it every queue is searched)')
    .action(
      action(async (ctx, id: string, flags: { queue?: string }) => {
        const [{ showFailed }, { printFailedJob }] = await Promise.all([import('../../queue/failed/detail.js'), import('../render/failed.js')]);
        const queues = queueList(flags.queue);
        const job = await withQueueClient(ctx, (client, config) => showFailed(config, client, id, queues));
        printFailedJob(ctx.out, job);
      }),
    );
}

function registerRetry(failed: Command): void {
  addFilters(
    failed
      .command('retry <ids...>')
      .description('move failed jobs back to waiting: ids, or `all` (with filters); batched, memory stays flat')
      .option('--dry-run', 'say what would be retried, change nothing'),
    'jobs retried',
  ).action(
    action(async (ctx, ids: string[], flags: FilterFlags & { dryRun?: boolean }) => {
      const all = ids.length === 1 && ids[0].toLowerCase() === 'all';
      if (!all && ids.some((i) => i.toLowerCase() === 'all')) throw usageError('give job ids or `all`, not both');
      if (!all && (flags.name !== undefined || flags.error !== undefined || flags.since !== undefined || flags.limit !== undefined)) {
        throw usageError(
          '--name, --error, --since and --limit select jobs for `retry all`; with job ids only --queue applies',
          'use `rqctl failed retry all --name …`, or list the ids',
        );
      }
      const filter = await toFilter(flags);
      const [{ retryFailed }, { printRetry }] = await Promise.all([import('../../queue/failed/retry.js'), import('../render/failed.js')]);
      const selection = all ? { filter, limit: flags.limit ?? 0 } : { ids, queues: filter.queues };
      const res = await withQueueClient(ctx, (client, config) => retryFailed(config, client, selection, !!flags.dryRun));
      printRetry(ctx.out, res);
    }),
  );
}

function registerForget(failed: Command): void {
  failed
    .command('forget <ids...>')
    .description('remove failed jobs by id (corrupt ones too); asks on a terminal, needs --yes otherwise')
    .option('--queue <names>', 'the queue holding the jobs (without it every queue is searched)')
    .option('-y, --yes', 'do not ask')
    .option('--dry-run', 'say what would be removed, change nothing')
    .action(
      action(async (ctx, ids: string[], flags: { queue?: string; yes?: boolean; dryRun?: boolean }) => {
        const [{ forgetFailed }, { confirmPhrase }, { forgetPhrase, printForget }] = await Promise.all([
          import('../../queue/failed/remove.js'),
          import('../confirm.js'),
          import('../render/failed.js'),
        ]);
        const queues = queueList(flags.queue);
        const res = await withQueueClient(ctx, (client, config) =>
          forgetFailed(config, client, ids, { queues, dryRun: flags.dryRun, confirm: (located) => confirmPhrase(forgetPhrase(located), flags.yes) }),
        );
        printForget(ctx.out, res);
      }),
    );
}

function registerFlush(failed: Command): void {
  failed
    .command('flush')
    .description('remove all failed jobs (or those older than --hours), corrupt ones too; asks on a terminal, needs --yes otherwise')
    .option('--queue <names>', 'only these queues (comma list; default: every queue in Redis)')
    .option('--hours <n>', 'only jobs that failed more than N hours ago', hoursOption)
    .option('-y, --yes', 'do not ask')
    .option('--dry-run', 'say what would be removed, change nothing')
    .action(
      action(async (ctx, flags: { queue?: string; hours?: number; yes?: boolean; dryRun?: boolean }) => {
        const [{ flushFailed }, { confirmPhrase }, { flushPhrase, printFlush }] = await Promise.all([
          import('../../queue/failed/remove.js'),
          import('../confirm.js'),
          import('../render/failed.js'),
        ]);
        const queues = queueList(flags.queue);
        const res = await withQueueClient(ctx, (client, config) =>
          flushFailed(config, client, { queues, hours: flags.hours, dryRun: flags.dryRun, confirm: (plan) => confirmPhrase(flushPhrase(plan), flags.yes) }),
        );
        printFlush(ctx.out, res);
      }),
    );
}

function registerExport(failed: Command): void {
  addFilters(
    failed
      .command('export')
      .description('failed jobs as JSON lines, one object per job with payload, reason and stack (corrupt ones with their raw fields)')
      .option('--out <file>', 'write to this file (default: stdout)'),
    'jobs exported',
  ).action(
    action(async (ctx, flags: FilterFlags & { out?: string }) => {
      const filter = await toFilter(flags);
      const [{ exportFailed }, { createLineSink }, { printExport }] = await Promise.all([
        import('../../queue/failed/detail.js'),
        import('../line-sink.js'),
        import('../render/failed.js'),
      ]);
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
      printExport(ctx.out, res, flags.out);
    }),
  );
}
