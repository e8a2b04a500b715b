import type { Command } from 'commander';
import { action } from '../context.js';

export function register(program: Command): void {
  program
    .command('doctor')
    .description('check the stack: reachability, auth, eviction policy, persistence, FLUSH commands, workers, scheduler (exit 4 on any fail)')
    .action(
      action(async ({ out, config }) => {
        const { runDoctor } = await import('../../doctor/index.js');
        const report = await runDoctor(await config());
        out.result({ checks: report.checks }, () => {
          for (const c of report.checks) {
            out.line(`${out.status(c.status).padEnd(out.c.level ? 13 : 4)}  ${c.message}`);
            if (c.status !== 'ok' && c.fix) out.line(`      ${out.c.dim('fix:')} ${c.fix}`);
          }
          const n = (s: string) => report.checks.filter((c) => c.status === s).length;
          out.info(`\n${n('ok')} ok, ${n('warn')} warnings, ${n('fail')} failed`);
        });
        return report.exitCode;
      }),
    );
}
