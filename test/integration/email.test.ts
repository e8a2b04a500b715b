import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import '../../src/jobs/index.js';
import { dispatch, prepareDispatch, type WaitResult } from '../../src/jobs/dispatch.js';
import { jobEnv, type JobEnv } from '../helpers/job-env.js';
import { startJobWorker, type TestWorker } from '../helpers/job-worker.js';
import { parseMail, TestSmtp } from '../helpers/smtp.js';

const redisUrl = inject('plainRedisUrl');

let smtp: TestSmtp;
let env: JobEnv;
let worker: TestWorker;

beforeAll(async () => {
  smtp = await TestSmtp.start();
  env = await jobEnv(redisUrl, {
    label: 'mail',
    env: {
      MAIL_HOST: '127.0.0.1',
      MAIL_PORT: String(smtp.port),
      MAIL_ENCRYPTION: 'none',
      MAIL_FROM_ADDRESS: 'noreply@example.test',
      MAIL_FROM_NAME: 'Example Homes',
      ADMIN_EMAIL: 'admin@example.test',
    },
  });
  worker = await startJobWorker(env.config, ['emails']);
});
afterAll(async () => {
  await worker?.close();
  await env?.cleanup();
  await smtp?.close();
});

const send = async (data: unknown, o: { tries?: number } = {}) =>
  (await dispatch(env.config, prepareDispatch(env.config, { job: 'SendEmail', data: JSON.stringify(data), tries: o.tries }), { waitMs: 30_000 })) as WaitResult;

describe('SendEmail new-inquiry', () => {
  it('runs on queue "emails" and sends text and HTML parts to ADMIN_EMAIL by default', async () => {
    const before = smtp.messages.length;
    const r = await send({
      template: 'new-inquiry',
      data: {
        name: 'Ann <Lee>',
        email: 'ann@example.org',
        phone: '+44 20 7946 0000',
        message: 'Is the flat\nstill available?',
        property: { title: 'Flat 3, Rose Court', url: 'https://homes.example/p/3' },
      },
    });
    expect(r.queue).toBe('emails');
    expect(r.state, r.failedReason).toBe('completed');
    expect(smtp.messages.length).toBe(before + 1);
    const m = smtp.messages[smtp.messages.length - 1];
    expect(m.to).toEqual(['admin@example.test']);
    expect(m.from).toBe('noreply@example.test');
    const mail = parseMail(m.raw);
    expect(mail.subject).toBe('New inquiry from Ann <Lee> about Flat 3, Rose Court');
    expect(mail.headers['reply-to']).toContain('ann@example.org');
    expect(mail.text).toContain('Ann <Lee>');
    expect(mail.text).toContain('ann@example.org');
    expect(mail.text).toContain('+44 20 7946 0000');
    expect(mail.text).toContain('Is the flat\nstill available?');
    expect(mail.text).toContain('Flat 3, Rose Court');
    // HTML: the same fields, escaped.
    expect(mail.html).toContain('Ann &lt;Lee&gt;');
    expect(mail.html).not.toContain('Ann <Lee>');
    expect(mail.html).toContain('href="mailto:ann@example.org"');
    expect(mail.html).toContain('+44 20 7946 0000');
    expect(mail.html).toContain('Flat 3, Rose Court');
    expect(mail.html).toContain('Is the flat\nstill available?');
  });

  it('sends to "to" when given', async () => {
    const r = await send({
      template: 'new-inquiry',
      to: 'sales@example.test',
      data: { name: 'Bo', email: 'bo@example.org', message: 'Hi', property: 'Plot 9' },
    });
    expect(r.state, r.failedReason).toBe('completed');
    const m = smtp.messages[smtp.messages.length - 1];
    expect(m.to).toEqual(['sales@example.test']);
    expect(parseMail(m.raw).subject).toBe('New inquiry from Bo about Plot 9');
  });

  it('a recipient the server refuses (550) fails the job at once, with the SMTP answer', async () => {
    smtp.rejectRecipients.add('gone@example.test');
    const r = await send({ template: 'new-inquiry', to: 'gone@example.test', data: { name: 'Cy', email: 'cy@example.org', message: 'Hi' } }, { tries: 3 });
    expect(r.state).toBe('failed');
    expect(r.attemptsMade).toBe(1);
    expect(r.failedReason).toMatch(/SMTP 127\.0\.0\.1:\d+: .*550/);
  });

  it('a payload the template does not accept is refused before enqueueing', () => {
    expect(() =>
      prepareDispatch(env.config, { job: 'SendEmail', data: JSON.stringify({ template: 'new-inquiry', data: { name: 'Dee', email: 'not-an-address' } }) }),
    ).toThrow(/data\.email: email must be an e-mail address[\s\S]*data\.message/);
    expect(() => prepareDispatch(env.config, { job: 'SendEmail', method: 'welcome', params: {} })).toThrow(/unknown template "welcome"/);
  });
});

describe('SendEmail run twice for one job (at-least-once delivery)', () => {
  it('sends the mail once', async () => {
    const { Job } = await import('bullmq');
    const { openQueue } = await import('../../src/queue/queues.js');
    const { getJobType } = await import('../../src/jobs/registry.js');
    const { connectRole, closeClient } = await import('../../src/redis/connect.js');
    // A queue no worker consumes: the job is only run by hand, twice, as a retry after a crash would.
    const queue = openQueue(env.config, 'emails-by-hand');
    const queueClient = await connectRole(env.config, 'queue');
    try {
      const added = await queue.add('SendEmail', { template: 'new-inquiry', data: { name: 'Fay', email: 'fay@example.org', message: 'Twice?' } });
      const job = (await Job.fromId(queue, added.id!))!;
      const { ProviderLimits } = await import('../../src/limits/provider-limits.js');
      const limits = new ProviderLimits(env.config, queueClient);
      const ctx = { config: env.config, signal: new AbortController().signal, job, redis: { queue: queueClient, cache: queueClient }, limits, log: () => {} };
      const before = smtp.messages.length;
      const first = (await getJobType('SendEmail').process(job.data, ctx)) as any;
      const second = (await getJobType('SendEmail').process(job.data, ctx)) as any;
      expect(smtp.messages.length).toBe(before + 1);
      expect(second).toMatchObject({ alreadySent: true, messageId: first.messageId });
      expect(smtp.messages[smtp.messages.length - 1].raw).toContain(first.messageId);
    } finally {
      await queue.obliterate({ force: true }).catch(() => {});
      await queue.close();
      await closeClient(queueClient);
    }
  });
});

describe('SendEmail without SMTP settings', () => {
  it('fails at once saying what is missing', async () => {
    const bare = await jobEnv(redisUrl, { label: 'nomail' });
    const w = await startJobWorker(bare.config, ['emails']);
    try {
      const noHost = (await dispatch(
        bare.config,
        prepareDispatch(bare.config, {
          job: 'SendEmail',
          method: 'new-inquiry',
          params: { to: 'x@example.test', name: 'Ed', email: 'ed@example.org', message: 'Hi' },
        }),
        { waitMs: 30_000 },
      )) as WaitResult;
      expect(noHost.state).toBe('failed');
      expect(noHost.attemptsMade).toBe(1);
      expect(noHost.failedReason).toMatch(/MAIL_HOST is not set/);
      const noRecipient = (await dispatch(
        bare.config,
        prepareDispatch(bare.config, { job: 'SendEmail', method: 'new-inquiry', params: { name: 'Ed', email: 'ed@example.org', message: 'Hi' } }),
        { waitMs: 30_000 },
      )) as WaitResult;
      expect(noRecipient.state).toBe('failed');
      expect(noRecipient.failedReason).toMatch(/no recipient: the payload has no "to" and ADMIN_EMAIL is not set/);
    } finally {
      await w.close();
      await bare.cleanup();
    }
  });
});
