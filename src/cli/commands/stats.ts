import type { Command } from 'commander';
import type { Role } from '../../config/endpoints.js';
import type { RoleStats } from '../../redis/stats.js';
import type { Output } from '../render.js';
import { action, durationOption, intOption } from '../context.js';

interface StatsOptions {
  role?: string;
  watch?: boolean;
  interval?: number;
  count?: number;
}

interface MonitorOptions {
  role?: string;
  duration?: number;
  match?: string;
  limit?: number;
}

function ago(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return d ? `${d}d ${h}h` : h ? `${h}h ${m}m` : `${m}m ${seconds % 60}s`;
}

async function renderTable(out: Output, roles: RoleStats[]): Promise<string> {
  const { formatBytes, formatRatio } = await import('../../util/bytes.js');
  const rows: [string, (r: RoleStats) => string | number][] = [
    ['server', (r) => r.url],
    ['version', (r) => r.version ?? '-'],
    [
      'memory',
      (r) =>
        `${formatBytes(r.usedMemory)} of ${r.maxmemory ? `${formatBytes(r.maxmemory)} (${((r.usedMemory / r.maxmemory) * 100).toFixed(1)}%)` : 'no limit'}`,
    ],
    ['policy', (r) => r.maxmemoryPolicy ?? '-'],
    ['hit ratio', (r) => `${formatRatio(r.hitRatio)}${r.hitRatio === null ? '' : ` (${r.keyspaceHits}/${r.keyspaceHits + r.keyspaceMisses})`}`],
    ['evicted keys', (r) => r.evictedKeys],
    ['expired keys', (r) => r.expiredKeys],
    ['ops/s', (r) => r.opsPerSec],
    ['clients', (r) => `${r.connectedClients} (${r.blockedClients} blocked)`],
    ['keys', (r) => `${r.keys} in db${r.db}`],
    [
      'keyspace',
      (r) =>
        Object.entries(r.keyspace)
          .map(([db, v]) => `${db}=${v.keys}`)
          .join(' ') || 'empty',
    ],
    [
      'persistence',
      (r) =>
        `aof ${r.persistence.aofEnabled ? `on (${r.persistence.aofLastWriteStatus ?? '?'})` : 'off'}, rdb ${r.persistence.rdbLastBgsaveStatus ?? '?'}${r.persistence.rdbChangesSinceLastSave ? `, ${r.persistence.rdbChangesSinceLastSave} changes unsaved` : ''}`,
    ],
    ['uptime', (r) => ago(r.uptimeSeconds)],
  ];
  return out.table(
    ['', ...roles.map((r) => r.role)],
    rows.map(([name, f]) => [name, ...roles.map(f)]),
  );
}

export function register(program: Command): void {
  program
    .command('stats')
    .description('INFO summary per role: memory vs maxmemory, policy, hit ratio, evictions, ops/s, clients, keyspace, persistence, uptime')
    .option('--role <role>', 'only this role: queue, cache or session (default: all three)')
    .option('--watch', 'refresh like `redis-cli --stat` until Ctrl-C (which exits 0)')
    .option('--interval <duration>', 'with --watch: time between refreshes (default 1s)', durationOption('--interval'))
    .option('--count <n>', 'with --watch: stop after N refreshes', intOption('--count', 1))
    .addHelpText(
      'after',
      '\n--json: {"roles":[{"role","usedMemory","maxmemory","maxmemoryPolicy","hitRatio","evictedKeys","opsPerSec","connectedClients","keyspace",…}]};\n' +
        'with --watch, one such object per line per refresh (with "time"). Figures are per server: roles sharing a server show the same numbers.',
    )
    .action(
      action(async ({ out, config }, opts: StatsOptions) => {
        const { parseRole } = await import('../../redis/target.js');
        const { openStats } = await import('../../redis/stats.js');
        const { ROLES } = await import('../../config/endpoints.js');
        const roles: readonly Role[] = opts.role === undefined ? ROLES : [parseRole(opts.role, 'queue')];
        const cfg = await config();
        const session = await openStats(cfg, roles);
        try {
          if (!opts.watch) {
            const stats = await session.read();
            const table = await renderTable(out, stats);
            out.result({ roles: stats }, () => out.line(table));
            return;
          }
          return await watch(out, session, opts);
        } finally {
          await session.close();
        }
      }),
    );

  program
    .command('monitor')
    .description('MONITOR, always bounded in time and lines (it costs Redis throughput); passwords in AUTH lines masked')
    .option('--role <role>', "only this role's server and DB (default: every server of the three roles, every DB)")
    .option('--duration <duration>', 'stop after this long (default 10s)', durationOption('--duration'))
    .option('--match <text>', 'only lines containing this text (case-insensitive)')
    .option('--limit <n>', 'stop after N lines (default 1000)', intOption('--limit', 1, 1_000_000))
    .addHelpText(
      'after',
      '\nLines look like redis-cli monitor\'s. --json: one object per line {"time","db","client","args","line","source"}. Ctrl-C stops early (exit 0).',
    )
    .action(
      action(async ({ out, config }, opts: MonitorOptions) => {
        const { parseRole } = await import('../../redis/target.js');
        const { runMonitor, DEFAULT_MONITOR_DURATION_MS, DEFAULT_MONITOR_LIMIT } = await import('../../redis/monitor.js');
        const { ROLES, sameServer } = await import('../../config/endpoints.js');
        const { connectRole, closeClient } = await import('../../redis/connect.js');
        const [{ StdoutStream }, { interruptSignal }] = await Promise.all([import('../stream.js'), import('../signals.js')]);
        const { ExitCode } = await import('../../errors.js');
        const cfg = await config();
        const only = opts.role === undefined ? undefined : parseRole(opts.role, 'queue');
        const groups: Role[][] = [];
        for (const role of only ? [only] : ROLES) {
          const g = groups.find((x) => sameServer(cfg.roles[x[0]], cfg.roles[role]));
          if (g) g.push(role);
          else groups.push([role]);
        }
        const clients: Awaited<ReturnType<typeof connectRole>>[] = [];
        const irq = interruptSignal();
        const sink = new StdoutStream();
        const durationMs = opts.duration ?? DEFAULT_MONITOR_DURATION_MS;
        const limit = opts.limit ?? DEFAULT_MONITOR_LIMIT;
        try {
          const targets: import('../../redis/monitor.js').MonitorTarget[] = [];
          for (const g of groups) {
            const client = await connectRole(cfg, g[0], { connectionName: 'rqctl-monitor' });
            clients.push(client);
            const ep = cfg.roles[g[0]];
            targets.push({ label: g.join('+'), client, db: only && ep.kind !== 'cluster' ? ep.db : undefined });
          }
          // Several servers (or cluster masters): say which one each line came from.
          const prefix = targets.length > 1 || groups.some((g) => cfg.roles[g[0]].kind === 'cluster');
          const announce = () =>
            out.info(
              `monitoring ${targets.map((t) => `${t.label} (${cfg.roles[groups[targets.indexOf(t)][0]].display}${t.db !== undefined ? `, DB ${t.db} only` : ''})`).join(', ')} for ${durationMs / 1000} s or ${limit} lines…`,
            );
          const summary = await runMonitor(targets, {
            durationMs,
            limit,
            match: opts.match,
            signal: irq.signal,
            onStart: announce,
            onLine: (l) => {
              if (sink.closed) return;
              void sink.write(out.json ? `${JSON.stringify(l)}\n` : `${prefix ? `[${l.source}] ` : ''}${l.line}\n`);
            },
          });
          out.info(
            `${summary.lines} line${summary.lines === 1 ? '' : 's'} in ${(summary.elapsedMs / 1000).toFixed(1)} s (stopped: ${summary.stoppedBy === 'signal' ? 'interrupted' : summary.stoppedBy}; ${summary.seen} commands seen)`,
          );
          if (summary.stoppedBy === 'connection') {
            out.warn(`the MONITOR connection ended: ${summary.error ?? 'closed'}`);
            return ExitCode.unreachable;
          }
        } finally {
          irq.dispose();
          await Promise.all(clients.map((c) => closeClient(c)));
        }
      }),
    );
}

async function watch(out: Output, session: { read(): Promise<RoleStats[]> }, opts: StatsOptions): Promise<number> {
  const { formatBytes, formatRatio } = await import('../../util/bytes.js');
  const { interruptSignal } = await import('../signals.js');
  const interval = opts.interval ?? 1000;
  const asJson = out.json || !out.stdoutIsTTY;
  const irq = interruptSignal();
  const previous = new Map<Role, RoleStats>();
  let lines = 0;
  let n = 0;
  try {
    while (!irq.interrupted()) {
      const stats = await session.read();
      const time = new Date();
      if (asJson) out.line(JSON.stringify({ time: time.toISOString(), roles: stats }));
      else {
        if (lines % 20 === 0)
          out.line(
            out.c.dim(
              `${'time'.padEnd(8)}  ${'role'.padEnd(7)} ${'keys'.padStart(9)} ${'mem'.padStart(9)} ${'maxmem'.padStart(9)} ${'clients'.padStart(7)} ${'blocked'.padStart(7)} ${'requests'.padStart(20)} ${'ops/s'.padStart(7)} ${'hit%'.padStart(6)} ${'evicted'.padStart(8)} ${'expired'.padStart(8)}`,
            ),
          );
        for (const s of stats) {
          const prev = previous.get(s.role);
          const delta = prev ? ` (+${s.totalCommands - prev.totalCommands})` : '';
          out.line(
            `${time.toTimeString().slice(0, 8)}  ${s.role.padEnd(7)} ${String(s.keys).padStart(9)} ${formatBytes(s.usedMemory).padStart(9)} ${(s.maxmemory ? formatBytes(s.maxmemory) : '-').padStart(9)} ${String(s.connectedClients).padStart(7)} ${String(s.blockedClients).padStart(7)} ${`${s.totalCommands}${delta}`.padStart(20)} ${String(s.opsPerSec).padStart(7)} ${formatRatio(s.hitRatio).padStart(6)} ${String(s.evictedKeys).padStart(8)} ${String(s.expiredKeys).padStart(8)}`,
          );
          previous.set(s.role, s);
          lines++;
        }
      }
      n++;
      if (opts.count !== undefined && n >= opts.count) break;
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, interval);
        function done() {
          clearTimeout(t);
          irq.signal.removeEventListener('abort', done);
          resolve();
        }
        irq.signal.addEventListener('abort', done);
      });
    }
  } finally {
    irq.dispose();
  }
  // Ctrl-C is how a watch ends: not an error.
  return 0;
}
