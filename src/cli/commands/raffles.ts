import type { Command } from 'commander';
import { withQueueClient } from '../clients.js';
import { action } from '../context.js';
import { usageError } from '../../errors.js';

/** Commands of the "raffles" group. Keep this file light: import core modules inside the actions. */

export function register(program: Command): void {
  const raffles = program
    .command('raffles')
    .description('the raffle records the scheduled raffle jobs work on (queue role: raffles, raffle:<id>, …:entries, …:winners)');
  registerList(raffles);
  registerShow(raffles);
}

function registerList(raffles: Command): void {
  raffles
    .command('list')
    .description('every raffle: status (and the status its times call for), times, entries, winners')
    .option('--status <status>', 'only raffles with this status (scheduled, active, ended)')
    .action(
      action(async (ctx, flags: { status?: string }) => {
        const [{ listRaffles }, { printRaffles }] = await Promise.all([import('../../jobs/raffles/store.js'), import('../render/raffles.js')]);
        const all = await withQueueClient(ctx, (client) => listRaffles(client));
        printRaffles(ctx.out, flags.status ? all.filter((r) => r.status === flags.status) : all, flags.status);
      }),
    );
}

function registerShow(raffles: Command): void {
  raffles
    .command('show <id>')
    .description('one raffle: its fields, entry count and winners')
    .action(
      action(async (ctx, id: string) => {
        const [{ getRaffle }, { printRaffle }] = await Promise.all([import('../../jobs/raffles/store.js'), import('../render/raffles.js')]);
        const raffle = await withQueueClient(ctx, (client) => getRaffle(client, id));
        if (!raffle) throw usageError(`raffle ${id} not found (no raffle:${id} hash, entries or winners)`, '`rqctl raffles list` shows the ids');
        printRaffle(ctx.out, raffle);
      }),
    );
}
