import { UnrecoverableError } from 'bullmq';
import { z } from 'zod';
import { MailError, mailFrom, sendMail } from '../../providers/mail.js';
import { defineJob, DEFAULT_BACKOFF_SECONDS, DEFAULT_TIMEOUT_SECONDS, DEFAULT_TRIES } from '../define.js';
import type { JobContext } from '../types.js';
import { TEMPLATES, type TemplateName } from './templates.js';

const names = Object.keys(TEMPLATES) as TemplateName[];
const recipient = z.email({ error: 'to must be an e-mail address' });

const sendEmailSchema = z
  .object({
    template: z.string({ error: `template is required (one of: ${names.join(', ')})` }),
    to: z.union([recipient, z.array(recipient).min(1)]).optional(),
    data: z.record(z.string(), z.unknown(), { error: 'data must be an object' }).default({}),
  })
  .transform((v, ctx) => {
    const t = TEMPLATES[v.template as TemplateName];
    if (!t) {
      ctx.addIssue({ code: 'custom', path: ['template'], message: `unknown template "${v.template}" (one of: ${names.join(', ')})` });
      return z.NEVER;
    }
    const data = t.schema.safeParse(v.data);
    if (!data.success) {
      for (const i of data.error.issues) ctx.addIssue({ code: 'custom', path: ['data', ...i.path.map(String)], message: i.message });
      return z.NEVER;
    }
    return { template: v.template as TemplateName, to: v.to === undefined ? undefined : Array.isArray(v.to) ? v.to : [v.to], data: data.data };
  });
export type SendEmailPayload = z.output<typeof sendEmailSchema>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A send is recorded in the queue role once the SMTP server accepted it, so a retried job (the worker
 * died after sending, before completing) does not send the mail twice. Keyed by job id and creation
 * time: ids restart if a queue is obliterated.
 */
const sentKey = (ctx: JobContext) => `${ctx.config.queue.prefix}:rqctl:mail-sent:${ctx.job.queueName}:${ctx.job.id}:${ctx.job.timestamp}`;
const SENT_TTL_SECONDS = 7 * 86_400;

async function runSendEmail(p: SendEmailPayload, ctx: JobContext) {
  const to = p.to ?? (ctx.config.mail.adminEmail ? [ctx.config.mail.adminEmail] : undefined);
  if (!to) throw new UnrecoverableError('no recipient: the payload has no "to" and ADMIN_EMAIL is not set');
  const marker = sentKey(ctx);
  const already = await ctx.redis.queue.get(marker);
  if (already !== null) {
    ctx.log('mail-already-sent', { messageId: already });
    return { template: p.template, to, messageId: already, alreadySent: true };
  }
  const t = TEMPLATES[p.template];
  const mail = t.render(p.data as never);
  const fromDomain = mailFrom(ctx.config).address.split('@')[1] ?? 'localhost';
  try {
    const sent = await sendMail(
      ctx.config,
      {
        to,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        replyTo: mail.replyTo,
        messageId: `<rqctl.${ctx.job.queueName}.${ctx.job.id}.${ctx.job.timestamp}@${fromDomain}>`,
      },
      ctx.signal,
    );
    await ctx.redis.queue.set(marker, sent.messageId, 'EX', SENT_TTL_SECONDS);
    ctx.log('mail-sent', { template: p.template, to: to.join(','), messageId: sent.messageId });
    return { template: p.template, to, subject: mail.subject, messageId: sent.messageId, response: sent.response };
  } catch (err) {
    if (err instanceof MailError && err.permanent) throw new UnrecoverableError(err.message);
    throw err;
  }
}

export const SendEmail = defineJob({
  name: 'SendEmail',
  queue: 'emails',
  description: `send a templated e-mail over SMTP (templates: ${names.join(', ')}); to defaults to ADMIN_EMAIL`,
  methods: names,
  schema: sendEmailSchema,
  tries: DEFAULT_TRIES,
  backoff: DEFAULT_BACKOFF_SECONDS,
  timeout: DEFAULT_TIMEOUT_SECONDS,
  // `rqctl dispatch SendEmail new-inquiry --param name=Ann --param email=ann@example.com --param message=Hi [--param to=x@y]`:
  // the method is the template, `to` is the recipient, every other --param is a template field.
  fromCli(method, params, data) {
    const base = isObject(data) ? data : {};
    const { to, ...fields } = params;
    return {
      ...base,
      ...(method !== undefined ? { template: method } : {}),
      ...(to !== undefined ? { to } : {}),
      data: { ...(isObject(base.data) ? base.data : {}), ...fields },
    };
  },
  run: runSendEmail,
});
