import { Option, type Command } from 'commander';
import { withQueueClient } from '../clients.js';
import { action, durationOption, intOption, MIN_INTERVAL_MS, queueList } from '../context.js';
import { ExitCode } from '../../errors.js';

/** Commands of the "queue" group. Keep this file light: import core modules inside the actions. */

export function register(program: Command): void {
  const queue = program.command('queue').description('queues: status, pause, resume, clear, monitor');
  registerStatus(queue);
  registerPause(queue, 'pause');
  registerPause(queue, 'resume');
  registerClear(queue);
  registerMonitor(queue);
}

function registerStatus(queue: Command): void {
  queue
    .command('status', { isDefault: true })
    .description('jobs per state for every queue (or --queue)')
    .option('--queue <names>', 'only these queues (comma list)')
    .action(
      action(async (ctx, flags: { queue?: string }) => {
        const [{ queueStatus }, { printQueueStatus }] = await Promise.all([import('../../queue/status.js'), import('../render/queue.js')]);
        const asked = queueList(flags.queue);
        const res = await withQueueClient(ctx, (client, config) => queueStatus(config, client, asked));
        printQueueStatus(ctx.out, res, asked);
      }),
    );
}

function registerPause(queue: Command, verb: 'pause' | 'resume'): void {
  const pause = verb === 'pause';
  queue
    .command(`${verb} <queue>`)
    .description(
      pause ? 'stop workers taking new jobs from the queue (running jobs finish; jobs can still be added)' : 'let workers take jobs from the queue again',
    )
    .action(
      action(async (ctx, name: string) => {
        const [{ setPaused }, { printPauseChange }] = await Promise.all([import('../../queue/status.js'), import('../render/queue.js')]);
        const res = await withQueueClient(ctx, (client, config) => setPaused(config, client, name, pause));
        printPauseChange(ctx.out, res);
      }),
    );
}

function registerClear(queue: Command): void {
  queue
    .command('clear <queue>')
    .description(
      'remove the waiting and delayed jobs of a queue (not active, failed or completed ones, nor job schedulers); asks on a terminal, needs --yes otherwise',
    )
    .option('-y, --yes', 'do not ask')
    .option('--dry-run', 'say what would be removed, change nothing')
    .action(
      action(async (ctx, name: string, flags: { yes?: boolean; dryRun?: boolean }) => {
        const [{ clearQueue }, { confirmPhrase }, { queueClearPhrase, printQueueClear }] = await Promise.all([
          import('../../queue/clear.js'),
          import('../confirm.js'),
          import('../render/queue.js'),
        ]);
        const res = await withQueueClient(ctx, (client, config) =>
          clearQueue(config, client, name, { dryRun: flags.dryRun, confirm: (plan) => confirmPhrase(queueClearPhrase(plan), flags.yes) }),
        );
        printQueueClear(ctx.out, res);
      }),
    );
}

interface MonitorFlags {
  queue?: string;
  maxSize?: number;
  maxWait?: number;
  interval: number;
  once?: boolean;
  keepGoing?: boolean;
}

function registerMonitor(queue: Command): void {
  queue
    .command('monitor')
    .description(
      'watch backlog size and the oldest waiting job per queue; exit 4 when a threshold is crossed (with --once: after one sample, for cron; without: at the first crossing)',
    )
    .option('--queue <names>', 'only these queues (comma list; default: every queue in Redis)')
    .option('--max-size <n>', 'alert when a queue has more than N jobs ready to run', intOption('--max-size', 0))
    .option(
      '--max-wait <duration>',
      'alert when the oldest job ready to run has waited longer (e.g. 60s, 5m)',
      durationOption('--max-wait', { max: 365 * 86_400_000 }),
    )
    .addOption(
      new Option('--interval <duration>', 'time between samples').argParser(durationOption('--interval', { min: MIN_INTERVAL_MS })).default(5000, '5s'),
    )
    .option('--once', 'one sample, then exit (0 healthy, 4 a threshold crossed)')
    .option('--keep-going', 'keep watching after a threshold is crossed (exit 4 when stopped)')
    .action(
      action(async (ctx, flags: MonitorFlags) => {
        const { out } = ctx;
        const [{ startQueueMonitor }, { onSignals }, { printBacklogSample }] = await Promise.all([
          import('../../queue/monitor.js'),
          import('../signals.js'),
          import('../render/queue.js'),
        ]);
        const queues = queueList(flags.queue);
        // One JSON document with --once; JSON lines when watching (with --json, or off a terminal).
        const view = out.json || (!flags.once && !out.stdoutIsTTY) ? 'json-lines' : flags.once ? 'table' : 'lines';
        let breached = false;
        return withQueueClient(ctx, async (client, config) => {
          const handle = startQueueMonitor(config, client, {
            queues,
            maxSize: flags.maxSize,
            maxWaitMs: flags.maxWait,
            intervalMs: flags.interval,
            once: flags.once,
            keepGoing: flags.keepGoing,
            onSample(sample) {
              if (!sample.ok) breached = true;
              printBacklogSample(out, sample, view);
            },
          });
          let signalled: NodeJS.Signals | undefined;
          const dispose = onSignals((signal) => {
            signalled = signal;
            void handle.close();
          });
          try {
            const { ok } = await handle.done;
            // Ctrl-C before anything was crossed is an interruption; SIGTERM (a supervisor) reports the health seen.
            if (signalled === 'SIGINT' && !breached) return ExitCode.interrupted;
            return ok && !breached ? ExitCode.ok : ExitCode.checkFailed;
          } finally {
            dispose();
          }
        });
      }),
    );
}
