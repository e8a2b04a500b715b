import { z } from 'zod';
import { parseDuration } from '../util/duration.js';

/**
 * `alerts:` and `metrics:` in rqctl.config.yaml (docs/alerts.md, docs/metrics.md). Durations are
 * read as operators write them (`10m`, `90s`, a bare number of seconds) and kept in milliseconds.
 * Unknown keys are refused: a misspelt rule key must not silently become a rule that never fires.
 */

const toNumber = (v: unknown) => (typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v) ? Number(v) : v);
const toOptionalString = (v: unknown) => (typeof v === 'string' && (v === '' || v.toLowerCase() === 'null') ? undefined : v);

/** A duration like `10m`, `90s`, `1h` (a bare number is seconds) → milliseconds, more than 0. */
const duration = () =>
  z.union([z.string(), z.number()], { error: 'must be a duration like 90s, 10m, 1h' }).transform((v, ctx) => {
    const ms = parseDuration(v);
    if (ms === undefined || ms <= 0) {
      ctx.addIssue({ code: 'custom', message: `must be a duration like 90s, 10m, 1h (got ${JSON.stringify(v)})` });
      return z.NEVER;
    }
    return ms;
  });

const count = () =>
  z.preprocess(
    toNumber,
    z.number({ error: 'must be a whole number ≥ 0' }).int({ error: 'must be a whole number ≥ 0' }).min(0, { error: 'must be a whole number ≥ 0' }),
  );

const httpUrl = () =>
  z.preprocess(
    toOptionalString,
    z
      .string()
      .refine(
        (v) => {
          try {
            const u = new URL(v);
            return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
          } catch {
            return false;
          }
        },
        { error: 'must be an http:// or https:// URL' },
      )
      .optional(),
  );

/** The measurement keys of a rule: each rule has exactly one. */
export const RULE_KINDS = ['backlog', 'oldestReady', 'failedPer5m', 'workersBelow', 'schedulerStale', 'queueEvictions', 'cacheHitRatioBelow'] as const;
export type RuleKind = (typeof RULE_KINDS)[number];
/** Kinds that look at one queue (`queue:`), or at every queue when none is named. */
export const QUEUE_KINDS: readonly RuleKind[] = ['backlog', 'oldestReady', 'failedPer5m', 'workersBelow'];

export const alertRuleSchema = z
  .strictObject({
    name: z
      .string({ error: 'every rule needs a name' })
      .regex(/^[A-Za-z0-9_.:-]+$/, { error: 'a rule name is letters, digits and _ . : - only' })
      .describe('the alert name in notifications and `alerts check`'),
    queue: z.string().min(1).optional().describe('the queue the rule looks at (backlog, oldestReady, failedPer5m, workersBelow); without it, every queue'),
    backlog: count().optional().describe('fires when more jobs than this are ready to run and not running (waiting + prioritized + due delayed)'),
    oldestReady: duration().optional().describe('fires when the oldest job ready to run has waited longer than this'),
    failedPer5m: count().optional().describe('fires when more attempts than this failed in the last 5 minutes (counted by rqctl workers)'),
    workersBelow: count().optional().describe('fires when fewer live rqctl workers than this run (for `queue`, or in all)'),
    schedulerStale: duration().optional().describe('fires when no scheduler has written its heartbeat for this long'),
    queueEvictions: z.literal(true, { error: 'must be true' }).optional().describe('fires when a server holding the queue or session role has evicted any key'),
    cacheHitRatioBelow: z
      .preprocess(
        toNumber,
        z.number({ error: 'must be a number from 0 to 1' }).min(0, { error: 'must be a number from 0 to 1' }).max(1, { error: 'must be a number from 0 to 1' }),
      )
      .optional()
      .describe("fires when the cache server's hit ratio is below this (0–1)"),
  })
  .superRefine((r, ctx) => {
    const kinds = RULE_KINDS.filter((k) => r[k] !== undefined);
    if (kinds.length !== 1)
      ctx.addIssue({
        code: 'custom',
        message: `rule "${r.name}" needs exactly one of ${RULE_KINDS.join(', ')} (got ${kinds.length ? kinds.join(', ') : 'none'})`,
      });
    else if (r.queue !== undefined && !QUEUE_KINDS.includes(kinds[0]))
      ctx.addIssue({ code: 'custom', path: ['queue'], message: `a ${kinds[0]} rule does not look at a queue` });
  });
export type AlertRuleConfig = z.output<typeof alertRuleSchema>;

export const alertsSchema = z
  .strictObject({
    notify: z
      .strictObject({
        webhook: httpUrl().describe('ALERT_WEBHOOK_URL: POST of Slack-compatible JSON {"text", …} on firing and resolved; masked in every output'),
        mail: z
          .preprocess(toOptionalString, z.email({ error: 'must be an e-mail address' }).optional())
          .describe('ALERT_MAIL_TO: the recipient of alert mail, sent through MAIL_*'),
      })
      .prefault({}),
    cooldown: duration().default(1_800_000).describe('a firing alert is sent again at most this often (default 30m)'),
    evaluateEvery: duration()
      .default(60_000)
      .describe('how often the scheduler evaluates the rules, once for the whole deployment (keep 1m; tests shorten it)'),
    rules: z
      .array(alertRuleSchema)
      .optional()
      .superRefine((rules, ctx) => {
        const seen = new Set<string>();
        rules?.forEach((r, i) => {
          if (seen.has(r.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `two rules are named "${r.name}"` });
          seen.add(r.name);
        });
      })
      .describe('the rules; without any: no-workers, scheduler-stale, queue-evictions and a 10-minute oldest-ready wait per queue'),
  })
  .prefault({});

export const metricsSchema = z
  .strictObject({
    counters: z
      .preprocess(
        (v) => (typeof v === 'string' ? !['false', '0', 'no', 'off'].includes(v.trim().toLowerCase()) : v),
        z.boolean({ error: 'must be true or false' }),
      )
      .default(true)
      .describe(
        'RQCTL_METRICS_COUNTERS: workers keep per-job counters and histograms in the queue role (rqctl_jobs_*, rqctl_provider_requests_total); false turns them off',
      ),
  })
  .prefault({});
