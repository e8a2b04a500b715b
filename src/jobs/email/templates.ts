import { z } from 'zod';

/**
 * Mail templates: each renders a subject, a plain-text part and an HTML part from validated data.
 * `new-inquiry` is the old app's NewInquiryNotification: someone asked about a property.
 */

const text = (what: string) =>
  z
    .string({ error: `${what} is required` })
    .trim()
    .min(1, { error: `${what} must not be empty` });

const propertySchema = z.union([
  z.string(),
  z
    .object({
      id: z.union([z.string(), z.number()]).optional(),
      title: z.string().optional(),
      name: z.string().optional(),
      address: z.string().optional(),
      url: z.string().optional(),
    })
    .loose(),
]);

export const newInquirySchema = z
  .object({
    name: text('name'),
    email: z.email({ error: 'email must be an e-mail address' }),
    phone: z.union([z.string(), z.number()]).transform(String).optional(),
    message: text('message'),
    property: propertySchema.optional(),
  })
  .loose();
export type NewInquiry = z.output<typeof newInquirySchema>;

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
  replyTo?: string;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function propertyLines(p: NewInquiry['property']): { title?: string; details: [string, string][] } {
  if (p === undefined) return { details: [] };
  if (typeof p === 'string') return { title: p, details: [['Property', p]] };
  const title = p.title ?? p.name ?? (p.id !== undefined ? `#${p.id}` : undefined);
  const details: [string, string][] = [];
  if (title) details.push(['Property', title]);
  if (p.address) details.push(['Address', p.address]);
  if (p.url) details.push(['Link', p.url]);
  if (p.id !== undefined && title !== `#${p.id}`) details.push(['Property id', String(p.id)]);
  return { title, details };
}

export function renderNewInquiry(d: NewInquiry): RenderedMail {
  const prop = propertyLines(d.property);
  const subject = `New inquiry from ${d.name}${prop.title ? ` about ${prop.title}` : ''}`;
  const rows: [string, string][] = [['Name', d.name], ['Email', d.email], ['Phone', d.phone ?? '-'], ...prop.details];
  const width = Math.max(...rows.map(([k]) => k.length)) + 1;
  const textPart = [
    'You have a new inquiry.',
    '',
    ...rows.map(([k, v]) => `${`${k}:`.padEnd(width)} ${v}`),
    '',
    'Message:',
    d.message,
    '',
    `Reply to ${d.name} at ${d.email}.`,
    '',
  ].join('\n');
  const htmlRows = rows
    .map(([k, v]) => {
      const value =
        k === 'Email'
          ? `<a href="mailto:${escapeHtml(v)}">${escapeHtml(v)}</a>`
          : k === 'Link' && /^https?:\/\//i.test(v)
            ? `<a href="${escapeHtml(v)}">${escapeHtml(v)}</a>`
            : escapeHtml(v);
      return `<tr><th align="left" style="padding:4px 12px 4px 0">${escapeHtml(k)}</th><td style="padding:4px 0">${value}</td></tr>`;
    })
    .join('\n');
  const html = `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head>
<body style="font-family:sans-serif;line-height:1.4">
<h2>New inquiry</h2>
<table>
${htmlRows}
</table>
<h3>Message</h3>
<p style="white-space:pre-wrap">${escapeHtml(d.message)}</p>
</body></html>
`;
  return { subject, text: textPart, html, replyTo: d.email };
}

export const TEMPLATES = {
  'new-inquiry': { schema: newInquirySchema, render: renderNewInquiry, description: 'inquiry notification: name, email, phone, message, property' },
} as const;
export type TemplateName = keyof typeof TEMPLATES;
