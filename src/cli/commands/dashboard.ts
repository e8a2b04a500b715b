import type { Command } from 'commander';
import { createRequire } from 'node:module';
import { action, intOption, type CommandContext } from '../context.js';
import type { LogEvent, Output } from '../render.js';
import { onSignals } from '../signals.js';
import { maskSecrets } from '../../config/endpoints.js';

interface DashboardCommandFlags {
  host?: string;
  port?: number;
  readOnly?: boolean;
  basePath?: string;
}

/** `rqctl dashboard` (docs/dashboard.md). The web stack loads only when it runs. */
export function register(program: Command): void {
  program
    .command('dashboard')
    .description(
      'serve the web dashboard: overview (roles, workers, queues, charts, schedule, cache, doctor), job browser, /api/overview, /healthz (Ctrl-C stops it)',
    )
    .option('--host <address>', 'interface to listen on (default 127.0.0.1, DASHBOARD_HOST); any other needs DASHBOARD_USER and DASHBOARD_PASSWORD')
    .option('--port <port>', 'port (default 7780, DASHBOARD_PORT)', intOption('--port', 0, 65535))
    .option('--read-only', 'no retry/remove/clean controls, and anything but GET and HEAD is refused (403) (DASHBOARD_READ_ONLY)')
    .option('--base-path <path>', 'serve under this URL path, e.g. /rqctl behind a reverse proxy (default /)')
    .action(action(runDashboard));
}

async function runDashboard(ctx: CommandContext, flags: DashboardCommandFlags): Promise<number> {
  const cfg = await ctx.config();
  const { dashboardOptions } = await import('../../dashboard/options.js');
  // Checked before anything listens: a public host without credentials, a bad base path (exit 2).
  const options = dashboardOptions(cfg, { host: flags.host, port: flags.port, readOnly: flags.readOnly ? true : undefined, basePath: flags.basePath });
  const log = stderrLog(ctx.out);
  // Listening for SIGTERM from the start: supervisord may stop it while it is still loading, and
  // that is a clean stop (exit 0), not a kill.
  let removeSignals = () => {};
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    removeSignals = onSignals(resolve, { onSecond: () => log({ level: 'warn', event: 'stopping', msg: 'stopping at once' }) });
  });
  try {
    const { loadJobTypes } = await import('../../jobs/load.js');
    await loadJobTypes(cfg, process.cwd());
    const { DashboardServer } = await import('../../dashboard/server.js');
    const version = (createRequire(import.meta.url)('../../../package.json') as { version: string }).version;
    const server = new DashboardServer(cfg, { ...options, log, rqctlVersion: version });
    const info = await server.start();
    const mode = [info.readOnly ? 'read-only' : '', info.auth ? 'basic auth' : ''].filter(Boolean).join(', ');
    ctx.out.result({ event: 'listening', ...info }, () => ctx.out.line(`rqctl dashboard: ${info.url}${mode ? ` (${mode})` : ''}`));
    log({ event: 'listening', msg: `listening on ${info.url}`, url: info.url, readOnly: info.readOnly, auth: info.auth });
    const signal = await stopped;
    log({ event: 'stopping', signal, msg: `${signal}: stopping` });
    await server.close();
    return 0;
  } finally {
    removeSignals();
  }
}

/** The dashboard's log, on stderr like the CLI's notes: readable on a terminal, JSON lines otherwise. */
function stderrLog(out: Output): (e: LogEvent) => void {
  const asJson = out.json || !out.stderrIsTTY;
  return (e) => {
    if (out.quiet && (e.level ?? 'info') === 'info' && e.event !== 'dashboard-action') return;
    if (asJson) {
      out.err(maskSecrets(JSON.stringify({ time: new Date().toISOString(), level: e.level ?? 'info', ...e })));
      return;
    }
    const { level = 'info', event, msg } = e;
    const tag = level === 'error' ? out.c.red(event) : level === 'warn' ? out.c.yellow(event) : out.c.cyan(event);
    out.err(maskSecrets(`${out.c.dim(new Date().toISOString().replace('T', ' ').slice(0, 19))} ${tag}${msg ? ` ${msg}` : ''}`));
  };
}
