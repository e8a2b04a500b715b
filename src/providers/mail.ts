import { hostname } from 'node:os';
import type { Config } from '../config/resolve.js';

/**
 * SMTP through nodemailer with the old stack's MAIL_* settings. MAIL_ENCRYPTION follows Laravel:
 * `ssl` (or port 465) = implicit TLS, `tls`/`starttls` = STARTTLS required, `none` = plain, unset =
 * STARTTLS when the server offers it.
 */

export interface MailMessage {
  to: string[];
  subject: string;
  text: string;
  html: string;
  replyTo?: string;
  messageId?: string;
}

export interface MailSent {
  messageId: string;
  accepted: string[];
  rejected: string[];
  response: string;
}

export class MailError extends Error {
  override readonly name = 'MailError';
  constructor(
    message: string,
    /** A permanent SMTP answer (5xx), bad credentials or missing settings: a retry cannot help. */
    readonly permanent: boolean,
    readonly responseCode?: number,
  ) {
    super(message);
  }
}

export function mailFrom(config: Config): { name?: string; address: string } {
  const m = config.mail;
  const address = m.fromAddress ?? (m.username?.includes('@') ? m.username : `rqctl@${hostname()}`);
  return m.fromName ? { name: m.fromName, address } : { address };
}

export async function sendMail(config: Config, msg: MailMessage, signal?: AbortSignal): Promise<MailSent> {
  const m = config.mail;
  if (!m.host) throw new MailError('MAIL_HOST is not set: cannot send mail', true);
  const secure = m.encryption === 'ssl' || (m.port === 465 && m.encryption !== 'none' && m.encryption !== 'starttls');
  // Loaded with the first message: ~3 MB of heap and 60 modules that a worker which sends no mail
  // (and `rqctl dispatch`, which loads every job type) would otherwise carry.
  const { default: nodemailer } = await import('nodemailer');
  const transport = nodemailer.createTransport({
    host: m.host,
    port: m.port,
    secure,
    requireTLS: !secure && (m.encryption === 'tls' || m.encryption === 'starttls'),
    ignoreTLS: m.encryption === 'none',
    auth: m.username ? { user: m.username, pass: m.password ?? '' } : undefined,
    connectionTimeout: 15_000,
    greetingTimeout: 15_000,
    socketTimeout: 30_000,
  });
  const where = `SMTP ${m.host}:${m.port}`;
  const onAbort = () => transport.close();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    signal?.throwIfAborted();
    const info = await transport.sendMail({
      from: mailFrom(config),
      to: msg.to,
      subject: msg.subject,
      text: msg.text,
      html: msg.html,
      replyTo: msg.replyTo,
      messageId: msg.messageId,
    });
    const accepted = (info.accepted ?? []).map(String);
    const rejected = (info.rejected ?? []).map(String);
    if (accepted.length === 0)
      throw new MailError(`${where} accepted no recipient (rejected: ${rejected.join(', ') || msg.to.join(', ')}): ${info.response}`, true);
    return { messageId: info.messageId, accepted, rejected, response: info.response };
  } catch (err) {
    if (signal?.aborted) throw signal.reason ?? err;
    if (err instanceof MailError) throw err;
    const e = err as Error & { code?: string; responseCode?: number; response?: string };
    const code = e.responseCode;
    const permanent = (code !== undefined && code >= 500) || e.code === 'EAUTH' || e.code === 'EENVELOPE';
    const detail = e.response && !e.message.includes(e.response) ? `${e.message} (${e.response})` : e.message;
    throw new MailError(`${where}: ${code ? `${code} ` : ''}${detail}`, permanent, code);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    transport.close();
  }
}
