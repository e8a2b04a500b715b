import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { eventually, removePrefix, TEST_JOBS, testQueue, uniquePrefix } from '../helpers/queue.js';
import { parseMail, TestSmtp } from '../helpers/smtp.js';
import { CliProcess } from '../helpers/worker-process.js';

const plain = inject('plainRedisUrl');

/** A real webhook receiver: keeps every POST, answers 503 to the first `failFirst` of them. */
class WebhookReceiver {
  readonly received: { status: number; body: any; authorization?: string }[] = [];
  failFirst = 0;
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<WebhookReceiver> {
    const ref: { self?: WebhookReceiver } = {};
    const server = createServer((req, res) => {
      let raw = '';
      req.on('data', (d) => (raw += d));
      req.on('end', () => {
        const self = ref.self!;
        const status = self.received.length < self.failFirst ? 503 : 200;
        self.received.push({ status, body: JSON.parse(raw), authorization: req.headers.authorization });
        res.writeHead(status).end(status === 200 ? 'ok' : 'try later');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    ref.self = new WebhookReceiver(server, (server.address() as AddressInfo).port);
    return ref.self;
  }

  delivered(state: string): any[] {
    return this.received.filter((r) => r.status === 200 && r.body.state === state).map((r) => r.body);
  }

  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

const PERIOD_MS = 2000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('alerts: evaluated by the schedulers, notified once by webhook and mail', () => {
  let hook: WebhookReceiver;
  let smtp: TestSmtp;
  const prefix = uniquePrefix('alerts');
  let env: Record<string, string>;
  let cwd: string;
  const procs: CliProcess[] = [];
  const scheduler = () => {
    const p = new CliProcess(['scheduler'], env, cwd);
    procs.push(p);
    return p;
  };

  beforeAll(async () => {
    hook = await WebhookReceiver.start();
    smtp = await TestSmtp.start();
    cwd = mkdtempSync(join(tmpdir(), 'rqctl-alerts-'));
    // Credentials in the URL's user info, path and query: none of them may show in any output.
    const webhook = `http://hookuser:s3cretpw@127.0.0.1:${hook.port}/hooks/T0001/B0002/XXXXsecretXXXX?token=tok3n`;
    writeFileSync(
      join(cwd, 'rqctl.config.yaml'),
      stringify({
        schedule: [],
        alerts: { evaluateEvery: `${PERIOD_MS / 1000}s`, cooldown: '1h', notify: { webhook }, rules: [{ name: 'q1-backlog', queue: 'q1', backlog: 3 }] },
      }),
    );
    env = {
      REDIS_URL: plain,
      QUEUE_PREFIX: prefix,
      RQCTL_EXTRA_JOBS: TEST_JOBS,
      ALERT_MAIL_TO: 'ops@example.com',
      MAIL_HOST: '127.0.0.1',
      MAIL_PORT: String(smtp.port),
      MAIL_ENCRYPTION: 'none',
      MAIL_FROM_ADDRESS: 'rqctl@example.com',
    };
  });

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await removePrefix(plain, prefix);
    await hook?.close();
    await smtp?.close();
  });

  const check = async () => {
    const r = await runCli(['alerts', 'check', '--json'], { env, cwd });
    return { code: r.exitCode, alert: r.json?.alerts?.find((a: any) => a.name === 'q1-backlog'), stderr: r.stderr };
  };
  const mails = (word: string) => smtp.messages.map((m) => parseMail(m.raw)).filter((m) => m.subject.includes(word));
  const allOutput = () => procs.map((p) => p.stdout + p.stderr).join('\n');

  it('a backlog over its threshold fires once across two schedulers, stays quiet after a restart, and resolves once when it drains', async () => {
    hook.failFirst = 1;
    const [s1, s2] = [scheduler(), scheduler()];
    await Promise.all([s1, s2].map((s) => s.waitFor((e) => e.event === 'scheduler.started')));
    expect((await check()).code).toBe(0);

    const q = testQueue(plain, prefix, 'q1');
    await q.addBulk(Array.from({ length: 5 }, (_, i) => ({ name: 'TestNoop', data: { n: i } })));
    await q.close();
    const firing = await check();
    expect(firing.code).toBe(4);
    expect(firing.alert).toMatchObject({ name: 'q1-backlog', state: 'firing', value: 5, threshold: 3 });
    expect(Date.parse(firing.alert.since)).not.toBeNaN();

    // The first POST gets a 503: it is tried again at the next evaluation.
    await eventually(async () => hook.delivered('firing').length === 1, 60_000, 'the firing webhook');
    await eventually(async () => mails('FIRING').length === 1, 60_000, 'the firing mail');
    expect(hook.received[0].status).toBe(503);
    // The URL's user info becomes HTTP basic auth.
    expect(hook.received[1].authorization).toBe(`Basic ${Buffer.from('hookuser:s3cretpw').toString('base64')}`);
    expect(hook.delivered('firing')[0]).toMatchObject({ alert: 'q1-backlog', state: 'firing', value: 5, threshold: 3, queue: 'q1', reminder: false });
    expect(hook.delivered('firing')[0].text).toMatch(/FIRING q1-backlog: queue q1 has 5 jobs ready to run \(threshold 3\)/);
    expect(mails('FIRING')[0].text).toMatch(/queue q1 has 5 jobs ready/);
    await sleep(PERIOD_MS * 3);
    expect(hook.delivered('firing')).toHaveLength(1);
    expect(mails('FIRING')).toHaveLength(1);
    expect([s1, s2].flatMap((s) => s.eventsNamed('alert.firing'))).toHaveLength(1);
    expect([s1, s2].flatMap((s) => s.eventsNamed('alert.delivery-failed'))).toHaveLength(1);

    // Restart: the state is in Redis, nothing is sent again.
    expect((await s1.stop()).code).toBe(0);
    expect((await s2.stop()).code).toBe(0);
    const s3 = scheduler();
    await s3.waitFor((e) => e.event === 'scheduler.started');
    await sleep(PERIOD_MS * 3);
    expect(hook.received.filter((r) => r.body.state === 'firing')).toHaveLength(2);
    expect(mails('FIRING')).toHaveLength(1);

    // Drained by a worker: resolved, once.
    const w = await runCli(['worker', '--queue', 'q1', '--stop-when-empty', '--sleep', '1'], { env, cwd, timeoutMs: 60_000 });
    expect(w.exitCode, w.stderr).toBe(0);
    await eventually(async () => hook.delivered('resolved').length === 1, 60_000, 'the resolved webhook');
    await eventually(async () => mails('RESOLVED').length === 1, 60_000, 'the resolved mail');
    expect(hook.delivered('resolved')[0]).toMatchObject({ alert: 'q1-backlog', state: 'resolved', value: 0 });
    const after = await check();
    expect(after.code).toBe(0);
    expect(after.alert).toMatchObject({ state: 'ok', value: 0 });
    await sleep(PERIOD_MS * 2);
    expect(hook.delivered('resolved')).toHaveLength(1);
    expect(mails('RESOLVED')).toHaveLength(1);

    const list = await runCli(['alerts', 'list', '--json'], { env, cwd });
    expect(list.exitCode).toBe(0);
    expect(list.json.notify.webhook).toBe(`http://hookuser:****@127.0.0.1:${hook.port}/hooks/****?****`);
    expect(list.json.alerts.find((a: any) => a.name === 'q1-backlog')).toMatchObject({ state: 'ok', lastNotified: { event: 'resolved' }, pending: null });
    const shown = await runCli(['config', 'show', '--json'], { env, cwd });
    for (const text of [allOutput(), list.stdout, list.stderr, shown.stdout, after.stderr]) {
      expect(text).not.toMatch(/s3cretpw|XXXXsecretXXXX|tok3n/);
    }
  }, 240_000);
});
