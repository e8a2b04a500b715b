import type { Command } from 'commander';
import { withQueueClient } from '../clients.js';
import { action } from '../context.js';

/** `rqctl limits`: the provider rate limits kept in the queue role (docs/rate-limits.md). */
export function register(program: Command): void {
  program
    .command('limits')
    .description(
      "provider rate limits shared by every worker: each limit's use in the current window, a pause after a 429, throttles and 429s in the last hour",
    )
    .option('--script', 'print the Lua script other applications run to take their requests from the same budgets (docs/rate-limits.md)')
    .action(
      action(async (ctx, flags: { script?: boolean }) => {
        const render = await import('../render/limits.js');
        if (flags.script) {
          const [{ providerLimitScript, SCRIPT_FILE }, { createHash }, { fileURLToPath }] = await Promise.all([
            import('../../limits/script.js'),
            import('node:crypto'),
            import('node:url'),
          ]);
          const script = providerLimitScript();
          render.printLimitScript(ctx.out, { file: fileURLToPath(SCRIPT_FILE), sha1: createHash('sha1').update(script).digest('hex'), script });
          return;
        }
        const { ProviderLimits } = await import('../../limits/provider-limits.js');
        const providers = await withQueueClient(ctx, (client, config) => new ProviderLimits(config, client).status());
        render.printLimits(ctx.out, providers);
      }),
    );
}
