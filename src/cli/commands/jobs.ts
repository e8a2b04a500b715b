import type { Command } from 'commander';
import { withQueueClient } from '../clients.js';
import { action, intOption, queueList, type CommandContext } from '../context.js';
import { usageError } from '../../errors.js';
import type { FindAction, FindFilter } from '../../queue/find/filter.js';

/** `rqctl jobs`: the registered job types; `jobs find` and `jobs show` look at the jobs in Redis. Core modules load inside the actions. */
export function register(program: Command): void {
  const jobs = program
    .command('jobs [job]')
    .description('the registered job types: methods, queue, tries, backoff, timeout; with a job name, its methods and params')
    .action(
      action(async ({ out, config }, name: string | undefined) => {
        const cfg = await config();
        const [{ loadJobTypes }, { describeJobs }, { printJobTypes }] = await Promise.all([
          import('../../jobs/load.js'),
          import('../../jobs/describe.js'),
          import('../render/jobs.js'),
        ]);
        // The bundled job types and the operator's extra job modules (RQCTL_EXTRA_JOBS).
        await loadJobTypes(cfg, process.cwd());
        printJobTypes(out, describeJobs(cfg, name), name !== undefined);
      }),
    );
  registerFind(jobs);
  registerShow(jobs);
}

interface FindFlags {
  queue?: string;
  state?: string;
  name?: string;
  where?: string[];
  error?: string;
  since?: string;
  until?: string;
  limit?: number;
  retry?: boolean;
  remove?: boolean;
  promote?: boolean;
  export?: string;
  yes?: boolean;
  dryRun?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

function registerFind(jobs: Command): void {
  jobs
    .command('find')
    .description('find jobs in any state by what they carry (--where params.symbol=AAPL) and act on the matches: retry, remove, promote, export')
    .option('--queue <names>', 'only these queues (comma list; default: every queue in Redis)')
    .option('--state <states>', 'failed, completed, waiting, delayed, prioritized, waiting-children, active (comma list; default: all but active)')
    .option(
      '--name <job>',
      'only jobs of this type: FetchStockData, FetchStockData:getStockQuote, getStockQuote (case-insensitive, * wildcard, comma for several)',
    )
    .option(
      '--where <cond>',
      'PATH=VALUE (text; numbers as numbers) or PATH~REGEX (case-insensitive) on the job data, e.g. params.symbol=AAPL; repeat: all hold',
      collect,
    )
    .option('--error <regex>', 'only jobs whose last failure reason matches (case-insensitive regular expression)')
    .option('--since <when>', 'only jobs finished (failed, completed) or added (the others) within this time (30m, 1h, 2d) or after this date')
    .option('--until <when>', 'only jobs finished or added before this time ago (30m, 1h, 2d) or this date')
    .option('--limit <n>', 'at most N jobs listed (default 100) or acted on (default all); 0 = no limit; `total` counts every match', intOption('--limit', 0))
    .option('--retry', 'move the matches back to waiting (failed and completed jobs)')
    .option('--remove', 'remove the matches (not running ones); asks on a terminal, needs --yes otherwise')
    .option('--promote', 'run the delayed matches now')
    .option('--export <file>', 'write the matches in full as JSON lines to FILE (written beside it and renamed)')
    .option('-y, --yes', 'do not ask (--remove)')
    .option('--dry-run', 'count what the action would touch, change nothing')
    .action(
      action(async (ctx, flags: FindFlags) => {
        const act = chosenAction(flags);
        const filter = await toFindFilter(flags, act);
        if (act === 'export') return runExport(ctx, filter, flags, flags.export!);
        if (act) return runAction(ctx, filter, flags, act);
        const [{ findJobs }, { printFound }] = await Promise.all([import('../../queue/find/find.js'), import('../render/find.js')]);
        const res = await withQueueClient(ctx, (client, config) => findJobs(config, client, filter, flags.limit ?? 100));
        printFound(ctx.out, res);
      }),
    );
}

function chosenAction(flags: FindFlags): FindAction | undefined {
  const chosen = (['retry', 'remove', 'promote'] as const).filter((a) => flags[a]);
  if (flags.export !== undefined) (chosen as FindAction[]).push('export');
  if (chosen.length > 1) throw usageError(`choose one action: ${chosen.map((a) => `--${a}`).join(', ')} were given`);
  if (!chosen.length && flags.dryRun) throw usageError('--dry-run goes with an action', 'add --retry, --remove, --promote or --export FILE');
  return chosen[0];
}

/** The flags as the core takes them: every mistake is exit 2 here, before anything connects. */
async function toFindFilter(flags: FindFlags, act: FindAction | undefined): Promise<FindFilter> {
  const [{ parseStates }, { parseWhere }, { parseSince }, { compileFind, checkActionStates, defaultStates }] = await Promise.all([
    import('../../queue/walk/states.js'),
    import('../../queue/find/where.js'),
    import('../../queue/failed/filter.js'),
    import('../../queue/find/filter.js'),
  ]);
  const states = flags.state !== undefined ? parseStates(flags.state) : defaultStates(act);
  if (act) checkActionStates(act, states);
  const now = Date.now();
  const filter: FindFilter = {
    queues: queueList(flags.queue),
    states,
    name: flags.name,
    error: flags.error,
    since: flags.since !== undefined ? parseSince(flags.since, now) : undefined,
    until: flags.until !== undefined ? parseSince(flags.until, now, '--until') : undefined,
    where: (flags.where ?? []).map(parseWhere),
  };
  compileFind(filter);
  return filter;
}

async function runAction(ctx: CommandContext, filter: FindFilter, flags: FindFlags, act: 'retry' | 'remove' | 'promote'): Promise<void> {
  const [{ actOnJobs }, { confirmPhrase, requireConfirmation }, { actionPhrase, printAction }] = await Promise.all([
    import('../../queue/find/act.js'),
    import('../confirm.js'),
    import('../render/find.js'),
  ]);
  const asks = act === 'remove' && !flags.dryRun;
  if (asks) requireConfirmation('remove jobs', flags.yes);
  const res = await withQueueClient(ctx, (client, config) =>
    actOnJobs(config, client, {
      filter,
      action: act,
      limit: flags.limit ?? 0,
      dryRun: flags.dryRun,
      ...(asks && !flags.yes ? { confirm: (plan) => confirmPhrase(actionPhrase(plan), flags.yes) } : {}),
    }),
  );
  printAction(ctx.out, res);
}

async function runExport(ctx: CommandContext, filter: FindFilter, flags: FindFlags, file: string): Promise<void> {
  const [{ exportJobs }, { createLineSink }, { printFindExport }] = await Promise.all([
    import('../../queue/find/export.js'),
    import('../line-sink.js'),
    import('../render/find.js'),
  ]);
  const sink = flags.dryRun ? undefined : await createLineSink(file);
  let res: Awaited<ReturnType<typeof exportJobs>>;
  try {
    res = await withQueueClient(ctx, (client, config) =>
      exportJobs(config, client, filter, { limit: flags.limit ?? 0, dryRun: flags.dryRun }, (rec) => sink?.write(JSON.stringify(rec))),
    );
  } catch (e) {
    await sink?.abort();
    throw e;
  }
  await sink?.finish();
  printFindExport(ctx.out, res, file);
}

function registerShow(jobs: Command): void {
  jobs
    .command('show <id>')
    .description('one job in any state: state, payload, return value or reason, stack trace, attempts, timeline, logs')
    .option('--queue <names>', 'the queue holding the job (without it every queue is searched)')
    .action(
      action(async (ctx, id: string, flags: { queue?: string }) => {
        const [{ showJob }, { printJobDetail }] = await Promise.all([import('../../queue/find/show.js'), import('../render/job-detail.js')]);
        const queues = queueList(flags.queue);
        const job = await withQueueClient(ctx, (client, config) => showJob(config, client, id, queues));
        printJobDetail(ctx.out, job);
      }),
    );
}
