import type { Output } from '../render.js';
import type { RaffleDetail, RaffleSummary } from '../../jobs/raffles/store.js';

/** What the `raffles` commands print. Raffle times are Unix seconds. */

const when = (s: number | undefined) =>
  s === undefined
    ? null
    : new Date(s * 1000)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z');

/** `raffles list [--status S]`. */
export function printRaffles(out: Output, list: RaffleSummary[], status: string | undefined): void {
  out.result({ raffles: list }, () => {
    if (!list.length) {
      out.info(status ? `no raffle with status ${status}` : 'no raffles (the `raffles` set is empty)');
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
}

/** `raffles show <id>`. */
export function printRaffle(out: Output, r: RaffleDetail): void {
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
}
