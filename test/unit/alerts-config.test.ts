import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { alertRules } from '../../src/alerts/rules.js';
import { nextAlertState, type AlertState } from '../../src/alerts/state.js';
import type { AlertResult } from '../../src/alerts/evaluate.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { describeConfig } from '../../src/config/show.js';
import { ConfigError } from '../../src/errors.js';
import { bucketIndex, DURATION_BUCKETS } from '../../src/metrics/keys.js';
import { maskWebhookUrl } from '../../src/util/url-mask.js';

function withFile(doc: unknown, env: Record<string, string> = {}) {
  const cwd = mkdtempSync(join(tmpdir(), 'rqctl-alerts-cfg-'));
  writeFileSync(join(cwd, 'rqctl.config.yaml'), stringify(doc));
  return resolveConfig({ env, cwd });
}

function problems(doc: unknown, env: Record<string, string> = {}): string[] {
  try {
    withFile(doc, env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('alerts: configuration', () => {
  it('without rules: no-workers, scheduler-stale, queue-evictions and a 10-minute oldest-ready wait per queue; cooldown 30m', () => {
    const c = withFile({});
    expect(alertRules(c)).toEqual([
      { name: 'no-workers', kind: 'workersBelow', queue: undefined, threshold: 1, builtIn: true },
      { name: 'scheduler-stale', kind: 'schedulerStale', queue: undefined, threshold: 180, builtIn: true },
      { name: 'queue-evictions', kind: 'queueEvictions', queue: undefined, threshold: 0, builtIn: true },
      { name: 'oldest-ready', kind: 'oldestReady', queue: undefined, threshold: 600, builtIn: true },
    ]);
    expect(c.alerts.cooldown).toBe(1_800_000);
    expect(c.metrics.counters).toBe(true);
  });

  it('reads every rule kind of docs/alerts.md, durations in seconds', () => {
    const c = withFile({
      alerts: {
        cooldown: '5m',
        rules: [
          { name: 'default-backlog', queue: 'default', backlog: 1000 },
          { name: 'default-wait', queue: 'default', oldestReady: '10m' },
          { name: 'fetch-failures', queue: 'default', failedPer5m: 20 },
          { name: 'no-workers', workersBelow: 1 },
          { name: 'scheduler-stale', schedulerStale: '3m' },
          { name: 'queue-evictions', queueEvictions: true },
          { name: 'cache-hits', cacheHitRatioBelow: 0.5 },
        ],
      },
    });
    expect(alertRules(c).map((r) => [r.name, r.kind, r.queue, r.threshold])).toEqual([
      ['default-backlog', 'backlog', 'default', 1000],
      ['default-wait', 'oldestReady', 'default', 600],
      ['fetch-failures', 'failedPer5m', 'default', 20],
      ['no-workers', 'workersBelow', undefined, 1],
      ['scheduler-stale', 'schedulerStale', undefined, 180],
      ['queue-evictions', 'queueEvictions', undefined, 0],
      ['cache-hits', 'cacheHitRatioBelow', undefined, 0.5],
    ]);
    expect(c.alerts.cooldown).toBe(300_000);
  });

  it('refuses an unknown rule key, a negative threshold, an invalid duration and a webhook that is not http(s), naming each path', () => {
    const p = problems({
      alerts: {
        notify: { webhook: 'ftp://hooks.example.com/x' },
        rules: [
          { name: 'a', backlog: 5, bakclog: 6 },
          { name: 'b', backlog: -1 },
          { name: 'c', oldestReady: '10 minutes' },
          { name: 'd', cacheHitRatioBelow: 1.5 },
        ],
      },
    });
    expect(p).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^alerts\.notify\.webhook .*: must be an http:\/\/ or https:\/\/ URL$/),
        expect.stringMatching(/^alerts\.rules\.0\.bakclog .*: unknown key; did you mean "backlog"\?$/),
        expect.stringMatching(/^alerts\.rules\.1\.backlog: must be a whole number ≥ 0$/),
        expect.stringMatching(/^alerts\.rules\.2\.oldestReady: must be a duration like 90s, 10m, 1h/),
        expect.stringMatching(/^alerts\.rules\.3\.cacheHitRatioBelow: must be a number from 0 to 1$/),
      ]),
    );
    expect(p.join('\n')).not.toContain('hooks.example.com');
  });

  it('refuses a rule with two kinds or none, a queue on a rule that has none, and two rules of one name', () => {
    const p = problems({
      alerts: {
        rules: [
          { name: 'x', backlog: 1, workersBelow: 1 },
          { name: 'y' },
          { name: 'z', queue: 'default', schedulerStale: '1m' },
          { name: 'x', queueEvictions: true },
        ],
      },
    });
    expect(p).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^alerts\.rules\.0: rule "x" needs exactly one of .* \(got backlog, workersBelow\)$/),
        expect.stringMatching(/^alerts\.rules\.1: rule "y" needs exactly one of .* \(got none\)$/),
        'alerts.rules.2.queue: a schedulerStale rule does not look at a queue',
        'alerts.rules.3.name: two rules are named "x"',
      ]),
    );
  });

  it('takes the webhook and the mail recipient from ALERT_WEBHOOK_URL and ALERT_MAIL_TO, and masks the webhook in config show', () => {
    const c = withFile({}, { ALERT_WEBHOOK_URL: 'https://hooks.slack.com/services/T000/B000/XXXX', ALERT_MAIL_TO: 'ops@example.com' });
    expect(c.alerts.notify).toEqual({ webhook: 'https://hooks.slack.com/services/T000/B000/XXXX', mail: 'ops@example.com' });
    const shown = JSON.stringify(describeConfig(c));
    expect(shown).toContain('https://hooks.slack.com/services/****');
    expect(shown).not.toContain('XXXX');
    expect(problems({}, { ALERT_MAIL_TO: 'not-an-address' })).toEqual(['alerts.notify.mail (ALERT_MAIL_TO): must be an e-mail address']);
  });

  it('RQCTL_METRICS_COUNTERS=false turns the worker counters off', () => {
    expect(withFile({}, { RQCTL_METRICS_COUNTERS: 'false' }).metrics.counters).toBe(false);
    expect(withFile({ metrics: { counters: false } }).metrics.counters).toBe(false);
  });
});

describe('webhook URLs are masked', () => {
  it.each([
    ['https://hooks.slack.com/services/T000/B000/XXXX', 'https://hooks.slack.com/services/****'],
    ['https://bot:s3cret@alerts.example.com/hook?token=abc', 'https://bot:****@alerts.example.com/hook?****'],
    ['http://127.0.0.1:8080/', 'http://127.0.0.1:8080'],
    ['not a url', '****'],
  ])('%s → %s', (url, masked) => {
    expect(maskWebhookUrl(url)).toBe(masked);
  });
});

describe('alert state: what is owed to whom', () => {
  const result = (state: 'firing' | 'ok', value = state === 'firing' ? 10 : 0): AlertResult => ({
    name: 'b',
    rule: 'b',
    kind: 'backlog',
    queue: 'q',
    state,
    value,
    threshold: 5,
    message: '',
  });
  const delivered = (s: AlertState, at: number): AlertState => ({ ...s, lastNotified: { event: s.pending!.event, at }, pending: undefined });
  const HOUR = 3_600_000;

  it('fires once, reminds after the cooldown, resolves once, and owes nothing while nothing changes', () => {
    let s = nextAlertState(undefined, result('ok'), 0, HOUR, ['webhook', 'mail']);
    expect(s).toMatchObject({ state: 'ok', since: 0 });
    expect(s.pending).toBeUndefined();
    s = nextAlertState(s, result('firing'), 60_000, HOUR, ['webhook', 'mail']);
    expect(s).toMatchObject({ state: 'firing', since: 60_000, pending: { event: 'firing', channels: ['webhook', 'mail'], attempts: 0 } });
    s = delivered(s, 60_000);
    s = nextAlertState(s, result('firing'), 120_000, HOUR, ['webhook', 'mail']);
    expect(s.pending).toBeUndefined();
    expect(s.since).toBe(60_000);
    s = nextAlertState(s, result('firing'), 60_000 + HOUR, HOUR, ['webhook', 'mail']);
    expect(s.pending).toMatchObject({ event: 'firing', reminder: true });
    s = delivered(s, 60_000 + HOUR);
    s = nextAlertState(s, result('ok'), 2 * HOUR, HOUR, ['webhook', 'mail']);
    expect(s).toMatchObject({ state: 'ok', since: 2 * HOUR, pending: { event: 'resolved' } });
    s = delivered(s, 2 * HOUR);
    expect(nextAlertState(s, result('ok'), 3 * HOUR, HOUR, ['webhook', 'mail']).pending).toBeUndefined();
  });

  it('keeps an undelivered notification for the next evaluation, and does not announce a resolution nobody heard fire', () => {
    let s = nextAlertState(undefined, result('firing'), 0, HOUR, ['webhook']);
    s = { ...s, pending: { ...s.pending!, attempts: 1, lastError: 'HTTP 503' } };
    s = nextAlertState(s, result('firing'), 60_000, HOUR, ['webhook']);
    expect(s.pending).toMatchObject({ event: 'firing', attempts: 1 });
    s = nextAlertState(s, result('ok'), 120_000, HOUR, ['webhook']);
    expect(s.state).toBe('ok');
    expect(s.pending).toBeUndefined();
  });

  it('with no channel configured, tracks the state and owes nothing', () => {
    const s = nextAlertState(undefined, result('firing'), 0, HOUR, []);
    expect(s).toMatchObject({ state: 'firing', since: 0 });
    expect(s.pending).toBeUndefined();
  });
});

describe('histogram buckets', () => {
  it('puts a value in the first bucket whose bound is at least the value, seconds', () => {
    expect(bucketIndex(DURATION_BUCKETS, 0)).toBe(0);
    expect(bucketIndex(DURATION_BUCKETS, 5)).toBe(0);
    expect(bucketIndex(DURATION_BUCKETS, 6)).toBe(1);
    expect(bucketIndex(DURATION_BUCKETS, 1000)).toBe(DURATION_BUCKETS.indexOf(1));
    expect(bucketIndex(DURATION_BUCKETS, 10_000_000)).toBe(DURATION_BUCKETS.length);
  });
});
