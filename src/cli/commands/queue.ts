import type { Command } from 'commander';
import { withQueueClient } from '../clients.js';
import { action, durationOption, intOption } from '../context.js';
import { ExitCode } from '../../errors.js';

/** Commands of the "queue" group. Keep this file light: import core modules inside the actions. */

function age(ms: number | null): string {
  if (ms === null) return '-';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  return h < 48 ? `${h}h ${m % 60}m` : `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** The prompt and the refusal of a destructive command, from one phrase ("remove 3 failed jobs"). */
function question(what: string, yes: boolean | undefined): [string, { yes?: boolean; what: string }] {
  return [`${what[0].toUpperCase()}${what.slice(1)}?`, { yes, what }];
}

export function register(program: Command): void {
  const queue = program.command('queue').description('queues: status, pause, resume, clear, monitor');

  queue
    .command('status', { isDefault: true })
    .description('jobs per state for every queue (or --queue)')
    .option('--queue <names>', 'only these queues (comma list)')
    .action(
      action(async (ctx, flags: { queue?: string }) => {
        const { out } = ctx;
        const [{ queueStatus }, { parseQueueList }] = await Promise.all([import('../../queue/status.js'), import('../../queue/failed.js')]);
        const asked = parseQueueList(flags.queue);
        const res = await withQueueClient(ctx, (client, config) => queueStatus(config, client, asked));
        for (const q of res.queues) if (asked && !q.exists) out.warn(`queue "${q.name}" has no keys in Redis (never used, or a typo?)`);
        out.result(res, () => {
          out.line(
            out.table(
              ['queue', 'waiting', 'active', 'delayed', 'failed', 'completed', 'state'],
              res.queues.map((q) => [q.name, q.waiting, q.active, q.delayed, q.failed, q.completed, q.isPaused ? out.c.yellow('paused') : 'running']),
            ),
          );
        });
      }),
    );

  for (const [verb, pause] of [
    ['pause', true],
    ['resume', false],
  ] as const) {
    queue
      .command(`${verb} <queue>`)
      .description(
        pause ? 'stop workers taking new jobs from the queue (running jobs finish; jobs can still be added)' : 'let workers take jobs from the queue again',
      )
      .action(
        action(async (ctx, name: string) => {
          const { out } = ctx;
          const { setPaused } = await import('../../queue/status.js');
          const res = await withQueueClient(ctx, (client, config) => setPaused(config, client, name, pause));
          out.result(res, () => out.line(`queue ${name} ${res.changed ? (pause ? 'paused' : 'resumed') : pause ? 'was already paused' : 'was not paused'}`));
        }),
      );
  }

  queue
    .command('clear <queue>')
    .description(
      'remove the waiting and delayed jobs of a queue (not active, failed or completed ones, nor job schedulers); asks on a terminal, needs --yes otherwise',
    )
    .option('-y, --yes', 'do not ask')
    .option('--dry-run', 'say what would be removed, change nothing')
    .action(
      action(async (ctx, name: string, flags: { yes?: boolean; dryRun?: boolean }) => {
        const { out } = ctx;
        const [{ planClear, clearQueue }, { confirmDestructive }] = await Promise.all([import('../../queue/status.js'), import('../confirm.js')]);
        const res = await withQueueClient(ctx, async (client, config) => {
          const plan = await planClear(config, client, name);
          if (flags.dryRun || plan.total === 0) return { removed: plan.total, waiting: plan.waiting, delayed: plan.delayed, dryRun: !!flags.dryRun };
          if (
            !(await confirmDestructive(
              ...question(
                `remove ${plan.total} job${plan.total === 1 ? '' : 's'} from queue ${name} (waiting ${plan.waiting}, delayed ${plan.delayed})`,
                flags.yes,
              ),
            ))
          )
            return null;
          return { ...(await clearQueue(config, client, name)), dryRun: false };
        });
        if (!res) {
          // Declining is the operator's choice, not an error: exit 0, nothing changed.
          out.result({ removed: 0, declined: true }, () => out.info('not confirmed: nothing removed'));
          return 0;
        }
        out.result({ removed: res.removed, waiting: res.waiting, delayed: res.delayed, ...(res.dryRun ? { dryRun: true } : {}) }, () =>
          out.line(
            `${res.dryRun ? 'would remove' : 'removed'} ${res.removed} job${res.removed === 1 ? '' : 's'} from ${name} (waiting ${res.waiting}, delayed ${res.delayed})${res.dryRun ? ' (dry run, nothing changed)' : ''}`,
          ),
        );
      }),
    );

  queue
    .command('monitor')
    .description(
      'watch backlog size and the oldest waiting job per queue; exit 4 when a threshold is crossed (with --once: after one sample, for cron; without: at the first crossing)',
    )
    .option('--queue <names>', 'only these queues (comma list; default: every queue in Redis)')
    .option('--max-size <n>', 'alert when a queue has more than N jobs ready to run', intOption('--max-size', 0))
    .option('--max-wait <duration>', 'alert when the oldest job ready to run has waited longer (e.g. 60s, 5m)', durationOption('--max-wait'))
    .option('--interval <duration>', 'time between samples', durationOption('--interval'), 5000)
    .option('--once', 'one sample, then exit (0 healthy, 4 a threshold crossed)')
    .option('--keep-going', 'keep watching after a threshold is crossed (exit 4 when stopped)')
    .action(
      action(async (ctx, flags: { queue?: string; maxSize?: number; maxWait?: number; interval: number; once?: boolean; keepGoing?: boolean }) => {
        const { out } = ctx;
        const [{ startMonitor }, { parseQueueList }] = await Promise.all([import('../../queue/monitor.js'), import('../../queue/failed.js')]);
        const queues = parseQueueList(flags.queue);
        const interval = Math.max(flags.interval, 100);
        // One JSON document with --once; JSON lines when watching (with --json, or off a terminal).
        const jsonLines = out.json || (!flags.once && !out.stdoutIsTTY);
        let breached = false;
        const code = await withQueueClient(ctx, async (client, config) => {
          const handle = startMonitor(config, client, {
            queues,
            maxSize: flags.maxSize,
            maxWaitMs: flags.maxWait,
            intervalMs: interval,
            once: flags.once,
            keepGoing: flags.keepGoing,
            onSample(sample) {
              if (!sample.ok) breached = true;
              for (const q of sample.queues) if (q.breaches.length) out.warn(`queue ${q.name}: ${q.breaches.join(', ')}`);
              if (jsonLines) {
                out.line(JSON.stringify(sample));
                return;
              }
              if (flags.once) {
                out.line(
                  out.table(
                    ['queue', 'size', 'oldest wait', 'active', 'state', 'check'],
                    sample.queues.map((q) => [
                      q.name,
                      q.size,
                      age(q.oldestWaitMs),
                      q.active,
                      q.isPaused ? 'paused' : 'running',
                      q.breaches.length ? out.c.red('over') : out.c.green('ok'),
                    ]),
                  ),
                );
                return;
              }
              const ts = sample.time.replace('T', ' ').slice(0, 19);
              for (const q of sample.queues) {
                out.line(
                  `${out.c.dim(ts)} ${q.name.padEnd(12)} size=${q.size} oldest=${age(q.oldestWaitMs)} active=${q.active}${q.isPaused ? ' paused' : ''} ${q.breaches.length ? out.c.red('over') : out.c.green('ok')}`,
                );
              }
            },
          });
          let signalled: NodeJS.Signals | undefined;
          const onSignal = (sig: NodeJS.Signals) => {
            signalled = sig;
            void handle.close();
          };
          process.once('SIGINT', onSignal);
          process.once('SIGTERM', onSignal);
          try {
            const { ok } = await handle.done;
            if (signalled === 'SIGINT' && !breached) return ExitCode.interrupted;
            return ok && !breached ? ExitCode.ok : ExitCode.checkFailed;
          } finally {
            process.off('SIGINT', onSignal);
            process.off('SIGTERM', onSignal);
          }
        });
        return code;
      }),
    );
}
