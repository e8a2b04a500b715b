import type { Command } from 'commander';
import { withRoleClients } from '../clients.js';
import { action } from '../context.js';
import { ExitCode } from '../../errors.js';

/** `rqctl alerts check|list` (docs/alerts.md). The scheduler daemon evaluates and notifies; these only look. */
export function register(program: Command): void {
  const alerts = program.command('alerts').description('alert rules: evaluate them now (exit 4 when any fires), or list them with their state');

  alerts
    .command('check')
    .description('evaluate every rule now; exit 4 when any alert fires (for cron and CI); notifies nobody')
    .action(
      action(async (ctx) => {
        const [{ checkAlerts }, { printAlertCheck }, { ROLES }] = await Promise.all([
          import('../../alerts/report.js'),
          import('../render/alerts.js'),
          import('../../config/endpoints.js'),
        ]);
        const res = await withRoleClients(ctx, ROLES, (clients, config) => checkAlerts(config, clients));
        printAlertCheck(ctx.out, res);
        return res.alerts.some((a) => a.state === 'firing') ? ExitCode.checkFailed : ExitCode.ok;
      }),
    );

  alerts
    .command('list')
    .description('the rules, where notifications go (webhook masked), and each alert as the scheduler last evaluated it')
    .action(
      action(async ({ out, config }) => {
        const cfg = await config();
        const [{ listAlerts }, { printAlertList }, { connectRole, closeClient }, { RqctlError }] = await Promise.all([
          import('../../alerts/report.js'),
          import('../render/alerts.js'),
          import('../../redis/connect.js'),
          import('../../errors.js'),
        ]);
        // The rules are config: they list without Redis too, only their state is then unknown.
        let client: Awaited<ReturnType<typeof connectRole>> | undefined;
        try {
          client = await connectRole(cfg, 'queue');
        } catch (e) {
          if (!(e instanceof RqctlError)) throw e;
          out.warn(`${e.message}: alert states unknown`);
        }
        try {
          printAlertList(out, await listAlerts(cfg, client));
        } finally {
          await closeClient(client);
        }
      }),
    );
}
