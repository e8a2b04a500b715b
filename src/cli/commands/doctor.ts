import type { Command } from 'commander';
import { action } from '../context.js';

export function register(program: Command): void {
  program
    .command('doctor')
    .description('check the stack: reachability, auth, eviction policy, persistence, FLUSH commands, workers, scheduler (exit 4 on any fail)')
    .action(
      // Not through withRoleClients: an unreachable role is a failed check, and the other roles are still checked.
      action(async ({ out, config }) => {
        const [{ runDoctor }, { printDoctorReport }] = await Promise.all([import('../../doctor/index.js'), import('../render/doctor.js')]);
        const report = await runDoctor(await config());
        printDoctorReport(out, report.checks);
        return report.exitCode;
      }),
    );
}
