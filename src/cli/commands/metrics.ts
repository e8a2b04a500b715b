import type { Command } from 'commander';
import { withRoleClients } from '../clients.js';
import { action, intOption, type CommandContext } from '../context.js';
import { onSignals } from '../signals.js';

interface MetricsFlags {
  host: string;
  port: number;
  once?: boolean;
  openmetrics?: boolean;
}

/** `rqctl metrics`: the Prometheus exposition (docs/metrics.md). */
export function register(program: Command): void {
  program
    .command('metrics')
    .description('serve Prometheus metrics at /metrics (queues, jobs, workers, schedule, providers, cache, Redis), all read from Redis at scrape time')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on', intOption('--port', 1, 65535), 9464)
    .option('--once', 'print the exposition once and exit (0; 3 when Redis is unreachable)')
    .option('--openmetrics', 'with --once: the OpenMetrics format instead of the Prometheus text format')
    .addHelpText(
      'after',
      `
Scrape it with Prometheus:
  scrape_configs:
    - job_name: rqctl
      static_configs: [{ targets: ['127.0.0.1:9464'] }]
\`rqctl dashboard\` serves the same at /metrics. SIGTERM/SIGINT stop the server (exit 0).`,
    )
    .action(action(runMetrics));
}

async function runMetrics(ctx: CommandContext, flags: MetricsFlags): Promise<number> {
  if (flags.once) {
    const [{ renderMetrics }, { ROLES }] = await Promise.all([import('../../metrics/exposition.js'), import('../../config/endpoints.js')]);
    // No onError: a role lost midway is exit 3, not a partial answer.
    const m = await withRoleClients(ctx, ROLES, (clients, config) =>
      renderMetrics(config, clients, { openMetrics: flags.openmetrics, discoveryWaitMs: 60_000, timeoutMs: 90_000 }),
    );
    ctx.out.line(m.body.replace(/\n$/, ''));
    return 0;
  }
  const config = await ctx.config();
  const [{ MetricsServer }, { eventLogger }] = await Promise.all([import('../../metrics/server.js'), import('../render.js')]);
  const log = eventLogger(ctx.out);
  const server = new MetricsServer(config, { host: flags.host, port: flags.port, log });
  const url = await server.start();
  log({ event: 'metrics.listening', url, redis: config.roles.queue.display, msg: `serving ${url}` });
  return new Promise<number>((resolve) => {
    const dispose = onSignals((signal) => {
      log({ event: 'metrics.stopping', signal });
      void server.close().then(() => {
        dispose();
        resolve(0);
      });
    });
  });
}
