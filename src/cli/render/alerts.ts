import type { Output } from '../render.js';
import type { AlertList, CheckedAlert } from '../../alerts/report.js';
import { formatAgo } from '../../util/duration.js';

const since = (iso: string | null) => (iso ? formatAgo(Date.parse(iso)) : '-');
const value = (v: number | null) => (v === null ? 'unknown' : String(Math.round(v * 1000) / 1000));

/** `alerts check`: one line per alert, firing ones first; the tally on stderr. */
export function printAlertCheck(out: Output, res: { alerts: CheckedAlert[] }): void {
  out.result(res, () => {
    const sorted = [...res.alerts].sort((a, b) => (a.state === b.state ? a.name.localeCompare(b.name) : a.state === 'firing' ? -1 : 1));
    const state = (a: CheckedAlert) => (a.state === 'firing' ? out.c.red('firing') : out.c.green('ok'));
    out.line(
      out.table(
        ['alert', 'state', 'value', 'threshold', 'since', 'what'],
        sorted.map((a) => [a.name, state(a), value(a.value), a.threshold, since(a.since), a.error ? `${a.message} (${a.error})` : a.message]),
      ),
    );
    const firing = res.alerts.filter((a) => a.state === 'firing').length;
    out.info(`\n${firing} firing, ${res.alerts.length - firing} ok`);
  });
}

/** `alerts list`: where notifications go, the rules, and the state the scheduler keeps. */
export function printAlertList(out: Output, list: AlertList): void {
  out.result(list, () => {
    out.line(
      out.kv([
        ['webhook', list.notify.webhook ?? '(none: set alerts.notify.webhook or ALERT_WEBHOOK_URL)'],
        ['mail', list.notify.mail ?? '(none: set alerts.notify.mail or ALERT_MAIL_TO)'],
        ['cooldown', `${list.cooldownSeconds} s`],
      ]),
    );
    out.line();
    // A queue rule without a queue looks at every queue (one alert each); the others look at no queue.
    const queue = (r: AlertList['rules'][number]) => r.queue ?? (['backlog', 'oldestReady', 'failedPer5m'].includes(r.kind) ? '(every)' : '-');
    out.line(
      out.table(
        ['rule', 'kind', 'queue', 'threshold', ''],
        list.rules.map((r) => [r.name, r.kind, queue(r), r.threshold, r.builtIn ? out.c.dim('default') : '']),
      ),
    );
    if (list.alerts === null) return;
    out.line();
    if (list.alerts.length === 0) {
      out.line('no alert evaluated yet (the scheduler evaluates them every minute)');
      return;
    }
    out.line(
      out.table(
        ['alert', 'state', 'value', 'since', 'last notified', 'pending'],
        list.alerts.map((a) => [
          a.name,
          a.state === 'firing' ? out.c.red('firing') : out.c.green('ok'),
          value(a.value),
          since(a.since),
          a.lastNotified ? `${a.lastNotified.event} ${since(a.lastNotified.at)}` : '-',
          a.pending
            ? `${a.pending.event} via ${a.pending.channels.join(', ')} (${a.pending.attempts} tries${a.pending.lastError ? `: ${a.pending.lastError}` : ''})`
            : '-',
        ]),
      ),
    );
  });
}
