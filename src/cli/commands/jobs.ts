import type { Command } from 'commander';
import { action } from '../context.js';

export function register(program: Command): void {
  program
    .command('jobs [job]')
    .description('the registered job types: methods, queue, tries, backoff, timeout; with a job name, its methods and params')
    .action(
      action(async ({ out, config }, name: string | undefined) => {
        const cfg = await config();
        const [{ loadJobTypes }, { describeJobs }, { printJobTypes }] = await Promise.all([
          import('../../jobs/load.js'),
          import('../../jobs/describe.js'),
          import('../render/jobs.js'),
        ]);
        // The bundled job types and the operator's extra job modules (RQCTL_EXTRA_JOBS).
        await loadJobTypes(cfg, process.cwd());
        printJobTypes(out, describeJobs(cfg, name), name !== undefined);
      }),
    );
}
