import type { Command } from 'commander';
import { action } from '../context.js';

export function register(program: Command): void {
  program
    .command('ping')
    .description('connect to every role (queue, cache, session) and report latency and server version')
    .action(
      // Not through withRoleClients: an unreachable role is part of the answer, not the end of it.
      action(async ({ out, config }) => {
        const [{ pingRoles }, { printPing }] = await Promise.all([import('../../redis/ping.js'), import('../render/ping.js')]);
        const result = await pingRoles(await config());
        printPing(out, result.roles);
        return result.exitCode;
      }),
    );
}
