import { z } from 'zod';
import { alertsSchema, metricsSchema } from './alerts-schema.js';
import { parseRateLimit, type RateLimit } from './rate-limits.js';

/**
 * The one configuration schema. Every field has its default and a description; `rqctl config show`
 * prints the resolved values. Sources are merged before this schema runs (src/config/resolve.ts), so
 * environment strings are coerced here: `"2"` becomes 2, `"true"` becomes true.
 */

const toNumber = (v: unknown) => (typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v) ? Number(v) : v);
const toBool = (v: unknown) => {
  if (typeof v !== 'string') return v;
  const s = v.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(s)) return true;
  if (['false', '0', 'no', 'off', ''].includes(s)) return false;
  return v;
};
/** Strings like `null` or empty mean "not set" (the old stack's `REDIS_PASSWORD=null`). */
const toOptionalString = (v: unknown) => (typeof v === 'string' && (v === '' || v.toLowerCase() === 'null') ? undefined : v);
const toList = (v: unknown) =>
  typeof v === 'string'
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : v;

export const int = (min: number, max: number, what = 'an integer') =>
  z.preprocess(
    toNumber,
    z
      .number({ error: `must be ${what} ${min}–${max}` })
      .int({ error: `must be ${what} ${min}–${max}` })
      .min(min, { error: `must be ${what} ${min}–${max}` })
      .max(max, { error: `must be ${what} ${min}–${max}` }),
  );
export const bool = () => z.preprocess(toBool, z.boolean({ error: 'must be true or false' }));
export const optString = () => z.preprocess(toOptionalString, z.string().optional());
export const stringList = () => z.preprocess(toList, z.array(z.string()));

/** A DB index: Redis has 16 by default, and ioredis silently falls back to DB 0 on anything else. */
export const dbIndex = () => int(0, 15, 'a database index');

export const redisSchema = z.object({
  url: optString().describe("REDIS_URL: redis://[user:pass@]host:port[/db] (rediss:// for TLS); its DB is the queue role's"),
  host: z.preprocess(toOptionalString, z.string().default('127.0.0.1')).describe('REDIS_HOST, used when no URL is given'),
  port: int(1, 65535, 'a port').default(6379).describe('REDIS_PORT'),
  username: optString().describe('REDIS_USERNAME (ACL user)'),
  password: optString().describe('REDIS_PASSWORD; `null` or empty means none. Prefer this to a password in a URL (visible in ps)'),
  db: dbIndex().default(0).describe("REDIS_DB: the queue role's DB"),
  cacheDb: dbIndex().default(1).describe("REDIS_CACHE_DB: the cache role's DB"),
  sessionDb: dbIndex().default(2).describe("REDIS_SESSION_DB: the session role's DB"),
  queueUrl: optString().describe('REDIS_QUEUE_URL: the queue role on its own server (split topology)'),
  cacheUrl: optString().describe('REDIS_CACHE_URL: the cache role on its own server'),
  sessionUrl: optString().describe('REDIS_SESSION_URL: the session role on its own server'),
  sentinels: optString().describe('REDIS_SENTINELS: host:port,host:port — connect through Sentinel'),
  sentinelMaster: optString().describe('REDIS_SENTINEL_MASTER: the master name Sentinel knows'),
  cluster: bool().default(false).describe('REDIS_CLUSTER: the nodes form a Redis Cluster (DB 0 only; roles separated by key prefix)'),
  clusterNodes: optString().describe('REDIS_CLUSTER_NODES: host:port,host:port seed nodes of the cluster'),
  connectTimeoutMs: int(100, 120_000, 'milliseconds').default(5000).describe('how long a one-shot command waits to connect before saying Redis is unreachable'),
});

const keep = (age: number, count: number) =>
  z.object({
    age: int(0, 10 * 365 * 86400, 'seconds')
      .default(age)
      .describe('seconds to keep'),
    count: int(0, 10_000_000, 'a count').default(count).describe('at most this many per queue'),
  });

export const queueSchema = z.object({
  prefix: z.string().default('bull').describe('QUEUE_PREFIX: BullMQ key prefix'),
  keepCompleted: keep(86_400, 10_000).prefault({}).describe('completed jobs: 24 h, at most 10,000 per queue'),
  keepFailed: keep(30 * 86_400, 100_000)
    .prefault({})
    .describe('failed jobs: 30 days, at most 100,000 per queue'),
});

export const cacheSchema = z.object({
  prefix: z.string().default('').describe('CACHE_PREFIX: prepended to every cache key'),
  cryptoDuration: int(1, 365 * 86400, 'seconds')
    .default(1200)
    .describe('CRYPTO_CACHE_DURATION: TTL of crypto keys (longer than the 15-minute refresh)'),
  stockDuration: int(1, 365 * 86400, 'seconds')
    .default(1200)
    .describe('STOCK_CACHE_DURATION: TTL of stock keys'),
  tags: z
    .record(z.string(), z.array(z.string()))
    .default({
      crypto: ['crypto_list', 'crypto_detail', 'crypto_prices', 'crypto_trending', 'crypto_chart'],
      stock: ['stock_list', 'stock_quote', 'stock_profile', 'market_news', 'stock_chart'],
    })
    .describe('cache.tags: a tag names a group of key families for `cache clear --tag`'),
});

export const providersSchema = z.object({
  coingecko: z
    .object({
      baseUrl: optString().describe('COINGECKO_BASE_URL (default https://api.coingecko.com/api/v3, or the pro URL with plan pro)'),
      apiKey: optString().describe('COINGECKO_API_KEY'),
      plan: z
        .enum(['demo', 'pro'], { error: 'must be demo or pro' })
        .default('demo')
        .describe('COINGECKO_API_PLAN: demo sends x-cg-demo-api-key, pro x-cg-pro-api-key'),
    })
    .prefault({}),
  finnhub: z
    .object({
      baseUrl: z.string().default('https://finnhub.io/api/v1').describe('FINNHUB_BASE_URL'),
      apiKey: optString().describe('FINNHUB_API_KEY (sent as X-Finnhub-Token)'),
    })
    .prefault({}),
  timeoutMs: int(100, 300_000, 'milliseconds').default(15_000).describe('request timeout'),
});

export const mailSchema = z.object({
  host: optString().describe('MAIL_HOST'),
  port: int(1, 65535, 'a port').default(587).describe('MAIL_PORT'),
  username: optString().describe('MAIL_USERNAME'),
  password: optString().describe('MAIL_PASSWORD'),
  encryption: z
    .preprocess(toOptionalString, z.enum(['tls', 'ssl', 'starttls', 'none'], { error: 'must be tls, ssl, starttls or none' }).optional())
    .describe('MAIL_ENCRYPTION'),
  fromAddress: optString().describe('MAIL_FROM_ADDRESS'),
  fromName: optString().describe('MAIL_FROM_NAME'),
  adminEmail: optString().describe('ADMIN_EMAIL: recipient of inquiry notifications'),
});

export const workerSchema = z.object({
  queues: stringList().default(['default', 'emails']).describe('queues a worker consumes'),
  concurrency: int(1, 10_000, 'a count').default(1).describe('jobs at a time per worker process'),
  tries: int(1, 1000, 'a count').default(3).describe('attempts for jobs that do not set their own'),
  backoff: int(0, 86_400, 'seconds').default(60).describe('fixed backoff between attempts, seconds'),
  timeout: int(1, 86_400, 'seconds').default(300).describe('job timeout, seconds'),
  maxTime: int(0, 24 * 86_400, 'seconds')
    .default(0)
    .describe('stop after this many seconds (0 = never); at most 24 days, the longest a Node timer can wait'),
  sleep: int(1, 10, 'seconds').default(3).describe('one blocking wait for a job when the queues are empty'),
  grace: int(1, 3600, 'seconds')
    .default(10)
    .describe(
      "after a job's timeout, how long it may take to honour its AbortSignal before the worker process exits non-zero (keep timeout + grace below supervisord stopwaitsecs)",
    ),
  lockDurationMs: int(1000, 600_000, 'milliseconds')
    .default(30_000)
    .describe(
      "BullMQ lockDuration: a running job's lock, renewed while it runs; a crashed worker's job is recovered once it lapses. Keep the default (30 s) in production; fault-injection tests shorten it",
    ),
  stalledIntervalMs: int(1000, 600_000, 'milliseconds')
    .default(30_000)
    .describe('BullMQ stalledInterval: how often a worker looks for jobs whose lock lapsed (a crashed worker) and moves them back to wait'),
});

export const jobsSchema = z.object({
  modules: stringList()
    .default([])
    .describe(
      'RQCTL_EXTRA_JOBS: extra job modules to load beside the bundled jobs (paths relative to the working directory, or package names; comma-separated in the environment)',
    ),
});

export const refreshSchema = z.object({
  crypto: z
    .object({
      vsCurrency: z.string().default('usd'),
      listPages: int(0, 100, 'a count').default(2).describe('pages of getCryptoList (1..N)'),
      trending: bool().default(true),
      ids: stringList()
        .default(['bitcoin', 'ethereum', 'tether', 'binancecoin', 'solana', 'ripple', 'usd-coin', 'cardano', 'dogecoin', 'tron'])
        .describe('ids for prices and charts (the top 10 by market cap)'),
      prices: bool().default(true),
      chartDays: z.union([int(1, 3650, 'days'), z.literal('max')]).default(7),
      charts: bool().default(true),
    })
    .prefault({}),
  stock: z
    .object({
      exchange: z.string().default('US'),
      list: bool().default(true),
      news: bool().default(true),
      newsCategory: z.string().default('general'),
      watchlist: stringList().default(['AAPL', 'MSFT', 'GOOGL', 'AMZN', 'NVDA']),
      quotes: bool().default(true),
      profiles: bool().default(true),
      charts: bool().default(false).describe('Finnhub candles need a paid plan: off unless set'),
    })
    .prefault({}),
});

/**
 * One provider's limits: `30/min`, a list `[60/min, 30/s]`, or (from the environment) `60/min,30/s`.
 * Issues are reported on the provider's path, so the message names the setting (and its variable).
 */
const rateLimitList = z.preprocess(
  (v) => (typeof v === 'string' ? toList(v) : v),
  z
    .array(z.string({ error: 'must be a rate limit like 30/min, or a list of them' }), { error: 'must be a rate limit like 30/min, or a list of them' })
    .min(1, { error: 'needs at least one rate limit, like 30/min' })
    .transform((texts, ctx): RateLimit[] => {
      const limits: RateLimit[] = [];
      for (const text of texts) {
        const r = parseRateLimit(text);
        if ('problem' in r) ctx.addIssue({ code: 'custom', message: r.problem, path: [] });
        else limits.push(r);
      }
      return limits;
    }),
);

export const limitsSchema = z
  .record(z.string(), rateLimitList.describe('N/WINDOW: 30/min, 30/s, 20/2s, 1000/h, 10/1500ms; several in a list all hold'))
  .superRefine((limits, ctx) => {
    // The name is part of Redis key names (<prefix>:rqctl:limits:<name>:…).
    for (const name of Object.keys(limits))
      if (!/^[a-z0-9][a-z0-9_-]*$/.test(name))
        ctx.addIssue({ code: 'custom', path: [name], message: 'a provider name is lower-case letters, digits, - and _' });
  })
  .default({})
  .describe(
    'limits: requests per provider, one budget in the queue role shared by every worker (docs/rate-limits.md). coingecko: COINGECKO_RATE_LIMIT (default by COINGECKO_API_PLAN: demo 30/min, pro 500/min); finnhub: FINNHUB_RATE_LIMIT, e.g. "60/min,30/s" (default 60/min and 30/s); other names are for extra job types',
  );

/** ACL users of the generated stack (docs/acl.md): their passwords, only ever written to the aclfiles as SHA-256 hashes. */
export const aclSchema = z.object({
  workerPassword: optString().describe('REDIS_ACL_WORKER_PASSWORD: password of the rqctl-worker user (workers and scheduler)'),
  appPassword: optString().describe('REDIS_ACL_APP_PASSWORD: password of the app user (the web application: cache reads, sessions, dispatching jobs)'),
  operatorPassword: optString().describe('REDIS_ACL_OPERATOR_PASSWORD: password of the operator user (the rqctl CLI of a person)'),
  healthcheckPassword: optString().describe('REDIS_ACL_HEALTHCHECK_PASSWORD: password of the healthcheck user (PING and INFO only)'),
  sessionKeys: stringList()
    .default(['session:*'])
    .describe(
      "REDIS_ACL_SESSION_KEYS: glob patterns of the app's session keys (comma-separated in the environment). ACL users cannot be limited to a DB, so the app's session rights are these key patterns",
    ),
});

export const dashboardSchema = z.object({
  host: z
    .preprocess(toOptionalString, z.string().default('127.0.0.1'))
    .describe('DASHBOARD_HOST: the interface `rqctl dashboard` listens on; any but loopback needs DASHBOARD_USER and DASHBOARD_PASSWORD'),
  port: int(0, 65535, 'a port').default(7780).describe('DASHBOARD_PORT (0 = any free port)'),
  user: optString().describe('DASHBOARD_USER: HTTP basic auth user; with DASHBOARD_PASSWORD every route but /healthz needs it'),
  password: optString().describe('DASHBOARD_PASSWORD: HTTP basic auth password'),
  readOnly: bool().default(false).describe('DASHBOARD_READ_ONLY: no retry/remove/clean controls, and the server refuses anything but GET and HEAD (403)'),
});

export const scheduleEntrySchema = z
  .object({
    name: z.string().min(1),
    cron: z.string().optional(),
    every: z.union([z.string(), z.number()]).optional(),
    timezone: z.string().optional(),
    job: z
      .object({
        name: z.string().min(1),
        data: z.record(z.string(), z.unknown()).default({}),
        queue: z.string().min(1).optional().describe("the queue to add the job to (default: the job type's queue, else `default`)"),
      })
      .optional(),
    command: z.string().min(1).optional(),
    timeout: z.union([z.string(), z.number()]).optional().describe('command entries: how long the command may run (default 1h)'),
    withoutOverlapping: bool().default(false),
    onOneServer: bool().default(true),
  })
  .superRefine((e, ctx) => {
    if ((e.cron === undefined) === (e.every === undefined)) ctx.addIssue({ code: 'custom', message: `entry "${e.name}": give exactly one of cron or every` });
    if ((e.job === undefined) === (e.command === undefined)) ctx.addIssue({ code: 'custom', message: `entry "${e.name}": give exactly one of job or command` });
  });
export type ScheduleEntry = z.infer<typeof scheduleEntrySchema>;

/** The old stack's schedule (docs/scheduler.md). A config file's `schedule:` replaces it. */
export const DEFAULT_SCHEDULE: z.input<typeof scheduleEntrySchema>[] = [
  { name: 'raffles:update-statuses', cron: '*/5 * * * *', job: { name: 'UpdateRaffleStatuses', data: {} } },
  { name: 'raffles:select-winners', cron: '0 * * * *', job: { name: 'SelectRaffleWinners', data: {} } },
  { name: 'refresh-crypto-cache', cron: '*/15 * * * *', job: { name: 'RefreshCryptoCache', data: {} } },
  { name: 'refresh-stock-cache', cron: '*/15 * * * *', job: { name: 'RefreshStockCache', data: {} } },
];

export const configSchema = z.object({
  redis: redisSchema.prefault({}),
  queue: queueSchema.prefault({}),
  cache: cacheSchema.prefault({}),
  providers: providersSchema.prefault({}),
  mail: mailSchema.prefault({}),
  worker: workerSchema.prefault({}),
  jobs: jobsSchema.prefault({}),
  refresh: refreshSchema.prefault({}),
  schedule: z.array(scheduleEntrySchema).default(DEFAULT_SCHEDULE as never),
  limits: limitsSchema,
  acl: aclSchema.prefault({}),
  metrics: metricsSchema.describe('worker counters for `rqctl metrics` (docs/metrics.md)'),
  alerts: alertsSchema.describe('alert rules, evaluated every minute by the scheduler (docs/alerts.md)'),
  dashboard: dashboardSchema.prefault({}),
  /** The old stack's driver names; informational, `rqctl doctor` warns when one is not `redis`. */
  env: z.object({ queueConnection: optString(), cacheStore: optString(), sessionDriver: optString() }).prefault({}),
});

export type ParsedConfig = z.output<typeof configSchema>;
