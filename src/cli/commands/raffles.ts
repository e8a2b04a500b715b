import type { Command } from 'commander';
import { action } from '../context.js';
import { usageError } from '../../errors.js';

const when = (s: number | undefined) =>
  s === undefined
    ? null
    : new Date(s * 1000)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z');

export function register(program: Command): void {
  const raffles = program
    .command('raffles')
    .description('the raffle records the scheduled raffle jobs work on (queue role: raffles, raffle:<id>, …:entries, …:winners)');

  raffles
    .command('list')
    .description('every raffle: status (and the status its times call for), times, entries, winners')
    .option('--status <status>', 'only raffles with this status (scheduled, active, ended)')
    .action(
      action(async ({ out, config }, flags: { status?: string }) => {
        const { withRoles } = await import('../../redis/connect.js');
        const { listRaffles } = await import('../../jobs/raffles/store.js');
        let list = await withRoles(await config(), ['queue'], (c) => listRaffles(c.queue));
        if (flags.status) list = list.filter((r) => r.status === flags.status);
        out.result({ raffles: list }, () => {
          if (!list.length) {
            out.info(flags.status ? `no raffle with status ${flags.status}` : 'no raffles (the `raffles` set is empty)');
            return;
          }
          out.line(
            out.table(
              ['id', 'name', 'status', 'starts', 'ends', 'entries', 'winners'],
              list.map((r) => [
                r.id,
                r.name,
                r.problem
                  ? `${r.status ?? '-'} (${out.c.red('invalid')})`
                  : r.dueStatus && r.dueStatus !== r.status
                    ? `${r.status ?? '-'} → ${r.dueStatus} due`
                    : r.status,
                when(r.startsAt),
                when(r.endsAt),
                r.entries,
                r.winners || r.drawnAt ? `${r.winners}/${r.winnersCount ?? 1}` : `-/${r.winnersCount ?? 1}`,
              ]),
            ),
          );
          for (const r of list) if (r.problem) out.warn(`raffle ${r.id}: ${r.problem}`);
        });
      }),
    );

  raffles
    .command('show <id>')
    .description('one raffle: its fields, entry count and winners')
    .action(
      action(async ({ out, config }, id: string) => {
        const { withRoles } = await import('../../redis/connect.js');
        const { getRaffle } = await import('../../jobs/raffles/store.js');
        const r = await withRoles(await config(), ['queue'], (c) => getRaffle(c.queue, id));
        if (!r) throw usageError(`raffle ${id} not found (no raffle:${id} hash, entries or winners)`, '`rqctl raffles list` shows the ids');
        out.result(r, () => {
          out.line(
            out.kv([
              ['id', r.id],
              ['name', r.name],
              ['status', r.dueStatus && r.dueStatus !== r.status ? `${r.status ?? '-'} (→ ${r.dueStatus} due at the next status update)` : r.status],
              ['starts at', when(r.startsAt)],
              ['ends at', when(r.endsAt)],
              ['winners count', r.winnersCount ?? '1 (default)'],
              ['entries', r.entries],
              ['drawn at', when(r.drawnAt) ?? 'not yet'],
              ['winners', r.winnerIds.length ? r.winnerIds.join(', ') : '-'],
            ]),
          );
          const other = Object.entries(r.fields).filter(([k]) => !['name', 'status', 'starts_at', 'ends_at', 'winners_count', 'winners_drawn_at'].includes(k));
          if (other.length) out.line(out.kv(other));
          if (r.problem) out.warn(r.problem);
        });
      }),
    );
}
