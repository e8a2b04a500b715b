import type { Command } from 'commander';
import { usageError } from '../../errors.js';
import { withQueueClient } from '../clients.js';
import { action, intOption, type CommandContext } from '../context.js';
import { onSignals } from '../signals.js';
import type { Output } from '../render.js';
import type { SyncResult } from '../../schedule/job-schedulers.js';
import type { ListedEntry } from '../../schedule/list.js';
import { formatDuration } from '../../util/duration.js';

/** Commands of the "scheduler" group. Keep this file light: import core modules inside the actions. */
export function register(program: Command): void {
  program
    .command('scheduler')
    .description('run the schedule: job entries as BullMQ job schedulers, command entries once per tick across servers (safe on every server)')
    .option('--once', 'one tick and exit, like `schedule:run` from cron every minute')
    .action(action(runScheduler));

  const schedule = program.command('schedule').description('the schedule: list the entries and their next runs, sync job schedulers to Redis');

  schedule
    .command('list')
    .description('entries with their next runs in their timezone, and the last run where known')
    .argument('[entries...]', 'only these entries (by name)')
    .option('--next <n>', 'upcoming runs per entry', intOption('--next', 1, 1000), 3)
    .action(
      action(async ({ out, config }, names: string[], opts: { next: number }) => {
        const cfg = await config();
        const unknown = names.filter((n) => !cfg.schedule.some((e) => e.name === n));
        if (unknown.length)
          throw usageError(
            `no schedule entry named ${unknown.map((n) => `"${n}"`).join(', ')}`,
            `entries: ${cfg.schedule.map((e) => e.name).join(', ') || 'none'}`,
          );
        const [{ listSchedule }, { connectRole, closeClient }, { RqctlError }] = await Promise.all([
          import('../../schedule/list.js'),
          import('../../redis/connect.js'),
          import('../../errors.js'),
        ]);
        // The schedule is config: it lists without Redis too, only the last runs are then unknown.
        let client: Awaited<ReturnType<typeof connectRole>> | undefined;
        try {
          client = await connectRole(cfg, 'queue');
        } catch (e) {
          if (!(e instanceof RqctlError)) throw e;
          out.warn(`${e.message}: last runs unknown`);
        }
        try {
          const all = await listSchedule(cfg, { count: opts.next, client });
          const entries = names.length ? all.filter((e) => names.includes(e.name)) : all;
          out.result({ entries }, () => renderList(out, entries, !!client));
        } finally {
          await closeClient(client);
        }
      }),
    );

  schedule
    .command('sync')
    .description("make Redis' job schedulers match the schedule's job entries; prints what was added, changed and removed (orphans included)")
    .option('--dry-run', 'show the difference, change nothing')
    .action(
      action(async (ctx, opts: { dryRun?: boolean }) => {
        const [{ syncJobSchedulers }, { planEntries }, { scheduleKeys }] = await Promise.all([
          import('../../schedule/job-schedulers.js'),
          import('../../schedule/entries.js'),
          import('../../schedule/keys.js'),
        ]);
        const r = await withQueueClient(ctx, (queue, cfg) =>
          syncJobSchedulers(cfg, queue, planEntries(cfg.schedule), { dryRun: opts.dryRun, orphans: 'all', keys: scheduleKeys(cfg.queue.prefix) }),
        );
        const { out } = ctx;
        for (const w of r.warnings) out.warn(w);
        out.result({ added: r.added, changed: r.changed, removed: r.removed, unchanged: r.unchanged.map((x) => x.name), dryRun: r.dryRun }, () =>
          renderSync(out, r),
        );
      }),
    );
}

/**
 * `rqctl scheduler`: ticks until SIGTERM/SIGINT, which stops the ticking and lets running commands
 * finish (each within its timeout); a second signal stops them too and exits 130. `--once`: one tick.
 */
async function runScheduler({ out, config }: CommandContext, opts: { once?: boolean }): Promise<number> {
  // Signals are taken from the start (a supervisorctl stop may come while it connects) and acted on
  // once the scheduler runs. Not the default second-signal exit: a second signal still waits for the
  // running commands to be stopped.
  const pending: NodeJS.Signals[] = [];
  let react: ((signal: NodeJS.Signals) => void) | undefined;
  const removeSignals = opts.once ? () => {} : onSignals((signal) => (react ? react(signal) : pending.push(signal)), { secondExits: false });
  try {
    const cfg = await config();
    const [{ startScheduler }, { eventLogger }] = await Promise.all([import('../../runtime/scheduler.js'), import('../render.js')]);
    const log = eventLogger(out);
    const scheduler = await startScheduler(cfg, { log, once: opts.once });
    if (opts.once) return 0;
    void scheduler.done.then(removeSignals);
    return await new Promise<number>((resolve) => {
      let signals = 0;
      react = (signal) => {
        signals++;
        if (signals === 1) {
          log({ event: 'scheduler.stopping', signal, msg: 'finishing running commands (signal again to stop them)' });
          void scheduler.close().then(() => resolve(0));
        } else {
          log({ level: 'warn', event: 'scheduler.stopping', signal, msg: 'stopping running commands' });
          void scheduler.close({ force: true }).then(() => resolve(130));
        }
      };
      for (const s of pending.splice(0)) react(s);
    });
  } finally {
    removeSignals();
  }
}

function renderSync(out: Output, r: SyncResult): void {
  const when = (x: { cron: string | null; everyMs: number | null; timezone: string | null }) =>
    x.cron !== null ? `${x.cron}${x.timezone && x.timezone !== 'UTC' ? ` (${x.timezone})` : ''}` : `every ${formatDuration(x.everyMs!)}`;
  for (const x of r.added) out.line(`${out.c.green('+')} ${x.name}  ${when(x)}  ${x.job} → queue ${x.queue}`);
  for (const x of r.changed) out.line(`${out.c.yellow('~')} ${x.name}  ${x.changes.join(', ')}`);
  for (const x of r.removed) out.line(`${out.c.red('-')} ${x.name}  (queue ${x.queue}, ${when(x)}, ${x.job})`);
  const summary = `${r.added.length} added, ${r.changed.length} changed, ${r.removed.length} removed, ${r.unchanged.length} unchanged`;
  out.info(r.dryRun ? `${summary} (dry run: nothing changed)` : summary);
}

function renderList(out: Output, entries: ListedEntry[], redis: boolean): void {
  if (entries.length === 0) {
    out.info('the schedule is empty (`schedule:` in rqctl.config.yaml)');
    return;
  }
  // Next runs are shown as wall time in the entry's zone (the ISO strings carry it already).
  const wall = (iso: string) => iso.slice(0, 19).replace('T', ' ');
  const rows = entries.map((e) => {
    const flags = [e.withoutOverlapping ? 'no-overlap' : '', e.kind === 'command' && !e.onOneServer ? 'every-server' : ''].filter(Boolean).join(', ');
    const target =
      e.kind === 'job'
        ? `job ${e.target} → ${e.queue}${e.synced === false ? out.c.yellow(' (not synced)') : ''}`
        : `$ ${e.target.length > 60 ? `${e.target.slice(0, 59)}…` : e.target}`;
    const last = e.lastRun
      ? `${wall(e.lastRun.at)} UTC ${e.lastRun.status === 'ok' || e.lastRun.status === 'completed' ? out.c.green(e.lastRun.status) : e.lastRun.status === 'running' || e.lastRun.status === 'active' ? e.lastRun.status : out.c.red(e.lastRun.status)}${e.lastRun.durationMs !== undefined ? ` ${(e.lastRun.durationMs / 1000).toFixed(1)}s` : ''}${e.lastRun.exitCode !== undefined && e.lastRun.exitCode !== null && e.lastRun.exitCode !== 0 ? ` exit ${e.lastRun.exitCode}` : ''}`
      : redis
        ? '-'
        : '?';
    return [e.name, e.cron ?? `every ${e.every}`, e.timezone, target + (flags ? out.c.dim(` [${flags}]`) : ''), e.next.map(wall).join('\n'), last];
  });
  out.line(out.table(['name', 'when', 'timezone', 'runs', 'next', 'last run'], rows));
}
