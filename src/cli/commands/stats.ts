import type { Command } from 'commander';
import { withRoleClients } from '../clients.js';
import { action, durationOption, intOption, MIN_INTERVAL_MS } from '../context.js';
import { ExitCode } from '../../errors.js';

/** `stats` (INFO per role) and `monitor` (MONITOR, bounded). Keep this file light: import core modules inside the actions. */

interface StatsFlags {
  role?: string;
  watch?: boolean;
  interval?: number;
  count?: number;
}

interface MonitorFlags {
  role?: string;
  duration?: number;
  match?: string;
  limit?: number;
}

export function register(program: Command): void {
  registerStats(program);
  registerMonitor(program);
}

function registerStats(program: Command): void {
  program
    .command('stats')
    .description('INFO summary per role: memory vs maxmemory, policy, hit ratio, evictions, ops/s, clients, keyspace, persistence, uptime')
    .option('--role <role>', 'only this role: queue, cache or session (default: all three)')
    .option('--watch', 'refresh like `redis-cli --stat` until Ctrl-C (which exits 0)')
    .option('--interval <duration>', 'with --watch: time between refreshes (default 1s)', durationOption('--interval', { min: MIN_INTERVAL_MS }))
    .option('--count <n>', 'with --watch: stop after N refreshes', intOption('--count', 1))
    .addHelpText(
      'after',
      '\n--json: {"roles":[{"role","usedMemory","maxmemory","maxmemoryPolicy","hitRatio","evictedKeys","opsPerSec","connectedClients","keyspace",…}]};\n' +
        'with --watch, one such object per line per refresh (with "time"). Figures are per server: roles sharing a server show the same numbers.',
    )
    .action(
      action(async (ctx, opts: StatsFlags) => {
        const [{ parseRole, groupByServer }, { readRoleStats, watchRoleStats }, { ROLES }, { interruptSignal }, view] = await Promise.all([
          import('../../redis/target.js'),
          import('../../redis/stats.js'),
          import('../../config/endpoints.js'),
          import('../signals.js'),
          import('../render/stats.js'),
        ]);
        const roles = opts.role === undefined ? ROLES : [parseRole(opts.role, 'queue')];
        // One connection per server: roles sharing it share one INFO read.
        const servers = groupByServer(await ctx.config(), roles).map((g) => g[0]);
        const connection = { connectionName: 'rqctl-stats' };
        if (!opts.watch) {
          const stats = await withRoleClients(ctx, servers, (clients, config) => readRoleStats(config, roles, clients), connection);
          view.printStats(ctx.out, stats);
          return;
        }
        const watchView = new view.StatsWatchView(ctx.out);
        await withRoleClients(
          ctx,
          servers,
          async (clients, config) => {
            const irq = interruptSignal();
            try {
              const watch = { intervalMs: opts.interval ?? 1000, count: opts.count, signal: irq.signal, onRead: watchView.print.bind(watchView) };
              await watchRoleStats(config, roles, clients, watch);
            } finally {
              irq.dispose();
            }
          },
          connection,
        );
        // Ctrl-C is how a watch ends: not an error.
        return ExitCode.ok;
      }),
    );
}

function registerMonitor(program: Command): void {
  program
    .command('monitor')
    .description('MONITOR, always bounded in time and lines (it costs Redis throughput); passwords in AUTH lines masked')
    .option('--role <role>', "only this role's server and DB (default: every server of the three roles, every DB)")
    .option('--duration <duration>', 'stop after this long (default 10s)', durationOption('--duration', { min: MIN_INTERVAL_MS }))
    .option('--match <text>', 'only lines containing this text (case-insensitive)')
    .option('--limit <n>', 'stop after N lines (default 1000)', intOption('--limit', 1, 1_000_000))
    .addHelpText(
      'after',
      '\nLines look like redis-cli monitor\'s. --json: one object per line {"time","db","client","args","line","source"}. Ctrl-C stops early (exit 0).',
    )
    .action(
      action(async (ctx, opts: MonitorFlags) => {
        const { out } = ctx;
        const [{ parseRole }, monitor, { StdoutStream }, { interruptSignal }, view] = await Promise.all([
          import('../../redis/target.js'),
          import('../../redis/monitor.js'),
          import('../stream.js'),
          import('../signals.js'),
          import('../render/stats.js'),
        ]);
        const plan = monitor.planMonitor(await ctx.config(), opts.role === undefined ? undefined : parseRole(opts.role, 'queue'));
        const durationMs = opts.duration ?? monitor.DEFAULT_MONITOR_DURATION_MS;
        const limit = opts.limit ?? monitor.DEFAULT_MONITOR_LIMIT;
        const irq = interruptSignal();
        const sink = new StdoutStream();
        try {
          const summary = await withRoleClients(
            ctx,
            plan.servers.map((s) => s.roles[0]),
            (clients) =>
              monitor.monitorServers(plan, clients, {
                durationMs,
                limit,
                match: opts.match,
                signal: irq.signal,
                onStart: () => view.printMonitorStart(out, plan, durationMs, limit),
                onLine: (l) => {
                  if (!sink.closed) void sink.write(view.formatMonitorLine(out, plan, l));
                },
              }),
            { connectionName: 'rqctl-monitor' },
          );
          view.printMonitorSummary(out, summary);
          if (summary.stoppedBy === 'connection') return ExitCode.unreachable;
        } finally {
          irq.dispose();
        }
      }),
    );
}
