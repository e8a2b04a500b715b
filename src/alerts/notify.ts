import { hostname } from 'node:os';
import type { Config } from '../config/resolve.js';
import { USER_AGENT } from '../providers/http.js';
import { maskWebhookUrl } from '../util/url-mask.js';
import type { AlertResult } from './evaluate.js';
import type { AlertState, Channel, NotificationEvent } from './state.js';

/** A notification that takes longer is given up and tried again at the next evaluation. */
export const DELIVERY_TIMEOUT_MS = 10_000;

/** What a webhook receives (docs/alerts.md): Slack's `text`, plus the structured fields. */
export interface AlertNotification {
  text: string;
  alert: string;
  rule: string;
  kind: string;
  queue?: string;
  state: NotificationEvent;
  /** A firing alert sent again after the cooldown. */
  reminder: boolean;
  value: number | null;
  threshold: number;
  /** When it started firing (or resolved), ISO. */
  since: string;
  message: string;
  /** Where it comes from: the queue role (password masked) and the queue prefix. */
  redis: string;
  queuePrefix: string;
  host: string;
}

export function configuredChannels(config: Config): Channel[] {
  const n = config.alerts.notify;
  return [...(n.webhook ? (['webhook'] as const) : []), ...(n.mail ? (['mail'] as const) : [])];
}

export function notificationOf(config: Config, r: AlertResult, s: AlertState, event: NotificationEvent, reminder: boolean): AlertNotification {
  const head = event === 'firing' ? `${reminder ? 'STILL FIRING' : 'FIRING'}` : 'RESOLVED';
  return {
    text: `[rqctl] ${head} ${r.name}: ${r.message}${event === 'resolved' ? '' : ` (since ${new Date(s.since).toISOString()})`}`,
    alert: r.name,
    rule: r.rule,
    kind: r.kind,
    ...(r.queue !== undefined ? { queue: r.queue } : {}),
    state: event,
    reminder,
    value: r.value !== null && Number.isFinite(r.value) ? r.value : null,
    threshold: r.threshold,
    since: new Date(s.since).toISOString(),
    message: r.message,
    redis: config.roles.queue.display,
    queuePrefix: config.queue.prefix,
    host: hostname(),
  };
}

/** Delivers on one channel; throws with a one-line reason (the webhook URL masked) when it could not. */
export async function deliver(config: Config, channel: Channel, n: AlertNotification): Promise<void> {
  if (channel === 'webhook') return postWebhook(config.alerts.notify.webhook!, n);
  const to = config.alerts.notify.mail!;
  const text = `${n.text}\n\nalert: ${n.alert}\nstate: ${n.state}\nvalue: ${n.value ?? 'unknown'}\nthreshold: ${n.threshold}\nsince: ${n.since}\nredis: ${n.redis} (prefix ${n.queuePrefix})\nfrom: ${n.host}\n`;
  const html = `<pre>${text.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!)}</pre>`;
  const subject = `[rqctl] ${n.state === 'firing' ? 'FIRING' : 'RESOLVED'} ${n.alert}`;
  // nodemailer is loaded only when a mail is due.
  const { sendMail } = await import('../providers/mail.js');
  await sendMail(config, { to: [to], subject, text, html }, AbortSignal.timeout(DELIVERY_TIMEOUT_MS));
}

/** Whether retrying can help (a 5xx, a timeout) or not (a mail setting missing, a 5xx SMTP answer). */
export function permanentFailure(e: unknown): boolean {
  return (e as Error)?.name === 'MailError' && (e as { permanent?: boolean }).permanent === true;
}

async function postWebhook(url: string, n: AlertNotification): Promise<void> {
  const where = maskWebhookUrl(url);
  // fetch refuses a URL with credentials: they go in an Authorization header instead.
  const target = new URL(url);
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': USER_AGENT };
  if (target.username || target.password) {
    headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(target.username)}:${decodeURIComponent(target.password)}`).toString('base64')}`;
    target.username = '';
    target.password = '';
  }
  let res: Response;
  try {
    res = await fetch(target, {
      method: 'POST',
      headers,
      body: JSON.stringify(n),
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
      redirect: 'error',
    });
    await res.arrayBuffer();
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    const why = err.name === 'TimeoutError' ? `no answer within ${DELIVERY_TIMEOUT_MS / 1000} s` : (err.cause?.code ?? err.cause?.message ?? err.message);
    throw new Error(`webhook ${where}: ${why}`);
  }
  if (res.status < 200 || res.status >= 300) throw new Error(`webhook ${where} answered HTTP ${res.status}`);
}
