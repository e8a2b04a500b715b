import type { Output } from '../render.js';
import type { MonitorLine, MonitorPlan, MonitorSummary } from '../../redis/monitor.js';
import type { RoleStats } from '../../redis/stats.js';
import type { Role } from '../../config/endpoints.js';
import { formatBytes, formatRatio } from '../../util/bytes.js';
import { formatSpan } from '../../util/duration.js';

/** What `stats` and `monitor` print. */

const STATS_ROWS: [string, (r: RoleStats) => string | number][] = [
  ['server', (r) => r.url],
  ['version', (r) => r.version ?? '-'],
  [
    'memory',
    (r) => `${formatBytes(r.usedMemory)} of ${r.maxmemory ? `${formatBytes(r.maxmemory)} (${((r.usedMemory / r.maxmemory) * 100).toFixed(1)}%)` : 'no limit'}`,
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
  ['uptime', (r) => formatSpan(r.uptimeSeconds * 1000, { daysFrom: 24, minutes: true })],
];

/** `stats`: one column per role; --json: `{"roles":[…]}`. */
export function printStats(out: Output, roles: RoleStats[]): void {
  out.result({ roles }, () =>
    out.line(
      out.table(
        ['', ...roles.map((r) => r.role)],
        STATS_ROWS.map(([name, f]) => [name, ...roles.map(f)]),
      ),
    ),
  );
}

/**
 * `stats --watch`: a line per role per refresh like `redis-cli --stat`, the header again every 20
 * lines, requests with their growth since the last refresh; JSON lines when stdout is not a terminal.
 */
export class StatsWatchView {
  private readonly previous = new Map<Role, RoleStats>();
  private lines = 0;

  constructor(private readonly out: Output) {}

  print(time: Date, stats: RoleStats[]): void {
    const out = this.out;
    if (out.json || !out.stdoutIsTTY) {
      out.line(JSON.stringify({ time: time.toISOString(), roles: stats }));
      return;
    }
    if (this.lines % 20 === 0)
      out.line(
        out.c.dim(
          `${'time'.padEnd(8)}  ${'role'.padEnd(7)} ${'keys'.padStart(9)} ${'mem'.padStart(9)} ${'maxmem'.padStart(9)} ${'clients'.padStart(7)} ${'blocked'.padStart(7)} ${'requests'.padStart(20)} ${'ops/s'.padStart(7)} ${'hit%'.padStart(6)} ${'evicted'.padStart(8)} ${'expired'.padStart(8)}`,
        ),
      );
    for (const s of stats) {
      const prev = this.previous.get(s.role);
      const delta = prev ? ` (+${s.totalCommands - prev.totalCommands})` : '';
      out.line(
        `${time.toTimeString().slice(0, 8)}  ${s.role.padEnd(7)} ${String(s.keys).padStart(9)} ${formatBytes(s.usedMemory).padStart(9)} ${(s.maxmemory ? formatBytes(s.maxmemory) : '-').padStart(9)} ${String(s.connectedClients).padStart(7)} ${String(s.blockedClients).padStart(7)} ${`${s.totalCommands}${delta}`.padStart(20)} ${String(s.opsPerSec).padStart(7)} ${formatRatio(s.hitRatio).padStart(6)} ${String(s.evictedKeys).padStart(8)} ${String(s.expiredKeys).padStart(8)}`,
      );
      this.previous.set(s.role, s);
      this.lines++;
    }
  }
}

/** `monitor`: what is watched, for how long (stderr). */
export function printMonitorStart(out: Output, plan: MonitorPlan, durationMs: number, limit: number): void {
  out.info(
    `monitoring ${plan.servers.map((s) => `${s.roles.join('+')} (${s.display}${s.db !== undefined ? `, DB ${s.db} only` : ''})`).join(', ')} for ${durationMs / 1000} s or ${limit} lines…`,
  );
}

/** One MONITOR line as `redis-cli monitor` shows it (tagged with its server when several are watched); --json: an object. */
export function formatMonitorLine(out: Output, plan: MonitorPlan, l: MonitorLine): string {
  return out.json ? `${JSON.stringify(l)}\n` : `${plan.tagLines ? `[${l.source}] ` : ''}${l.line}\n`;
}

/** `monitor`: how it ended (stderr); a MONITOR connection that ended early is warned about. */
export function printMonitorSummary(out: Output, summary: MonitorSummary): void {
  out.info(
    `${summary.lines} line${summary.lines === 1 ? '' : 's'} in ${(summary.elapsedMs / 1000).toFixed(1)} s (stopped: ${summary.stoppedBy === 'signal' ? 'interrupted' : summary.stoppedBy}; ${summary.seen} commands seen)`,
  );
  if (summary.stoppedBy === 'connection') out.warn(`the MONITOR connection ended: ${summary.error ?? 'closed'}`);
}
