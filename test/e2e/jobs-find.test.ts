import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, type Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import '../../src/jobs/index.js';
import { dispatchBulk, type BulkDispatchItem } from '../../src/jobs/dispatch.js';
import { queueConnection } from '../../src/queue/queues.js';
import { execFileSync, spawn } from 'node:child_process';
import { BIN, cleanEnv, runCli } from '../helpers/cli.js';
import { jobEnv, type JobEnv } from '../helpers/job-env.js';
import { ProviderServer } from '../helpers/provider-server.js';
import { TestSmtp } from '../helpers/smtp.js';
import { CliProcess } from '../helpers/worker-process.js';

const redisUrl = inject('plainRedisUrl');

// Finnhub answers 500 for these (retryable, but the jobs get one try): they fail.
const BAD = ['BAD1', 'BAD2', 'BAD3'];
const GOOD = ['AAPL', 'MSFT', 'GOOGL', 'AMZN', 'NVDA', ...Array.from({ length: 19 }, (_, i) => `SYM${String(i + 5).padStart(2, '0')}`)];
const ALL = [...GOOD, ...BAD];
const REJECTED = ['user7@example.com', 'user13@example.com'];
const HOUR = 3_600_000;

const quote = (i: number, extra: Partial<BulkDispatchItem> = {}): BulkDispatchItem => ({
  job: 'FetchStockData',
  data: { method: 'getStockQuote', params: { symbol: ALL[i % ALL.length] } },
  tries: 1,
  ...extra,
});
const mail = (i: number, extra: Partial<BulkDispatchItem> = {}): BulkDispatchItem => ({
  job: 'SendEmail',
  data: {
    template: 'new-inquiry',
    to: i % 3 === 0 ? [`user${i % 50}@example.com`, 'desk@example.com'] : `user${i % 50}@example.com`,
    data: { name: `Lead ${i}`, email: `lead${i % 40}@example.org`, message: 'Is it still available?', property: { id: i, title: `Flat ${i}` } },
  },
  tries: 1,
  ...extra,
});
const crypto = (i: number, extra: Partial<BulkDispatchItem> = {}): BulkDispatchItem => ({
  job: 'FetchCryptoData',
  data:
    i % 3 === 2
      ? { method: 'getCryptoPrices', params: { ids: 'bitcoin,ethereum' } }
      : { method: 'getCryptoDetail', params: { id: i % 3 === 0 ? 'bitcoin' : `nocoin${i}` } },
  tries: 1,
  ...extra,
});
const plain = (job: string, extra: Partial<BulkDispatchItem> = {}): BulkDispatchItem => ({ job, data: {}, tries: 1, ...extra });

/** The state names of `jobs find`, from BullMQ's getter types. */
const TYPES: Record<string, string> = {
  completed: 'completed',
  failed: 'failed',
  wait: 'waiting',
  delayed: 'delayed',
  prioritized: 'prioritized',
  'waiting-children': 'waiting-children',
  active: 'active',
};

/**
 * `rqctl jobs find` and `jobs show` over a few thousand jobs of every bundled job type, made by real
 * `rqctl worker` processes against a local Finnhub/CoinGecko answering 500 for some symbols and 404
 * for unknown coins, and a local SMTP server refusing some recipients; then jobs left waiting,
 * delayed, prioritized and one running. Expected results come from BullMQ's own getters.
 */
describe('jobs find over every bundled job type in every state', () => {
  let server: ProviderServer;
  let smtp: TestSmtp;
  let env: JobEnv;
  let slowWorker: CliProcess;
  const queues = new Map<string, Queue>();
  const cli = (...args: string[]) => runCli(args, { env: env.env, cwd: env.cwd, timeoutMs: 120_000 });
  const queue = (name: string) => {
    let q = queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: queueConnection(env.config, 'worker'), prefix: env.config.queue.prefix });
      queues.set(name, q);
    }
    return q;
  };
  const worker = (...args: string[]) => new CliProcess(['worker', '--sleep', '1', ...args], env.env, env.cwd);

  /** Every job in Redis that `pred` picks, as "queue/id/state", read with BullMQ's getters. */
  async function oracle(pred: (job: Job, state: string) => boolean, states = ['completed', 'failed', 'wait', 'delayed', 'prioritized', 'waiting-children']) {
    const picked = new Set<string>();
    for (const name of ['default', 'emails', 'slow']) {
      for (const type of states) {
        for (const job of await queue(name).getJobs([type as never], 0, -1)) if (job && pred(job, TYPES[type])) picked.add(`${name}/${job.id}/${TYPES[type]}`);
      }
    }
    return picked;
  }
  const keysOf = (jobs: any[]) => new Set(jobs.map((j) => `${j.queue}/${j.id}/${j.state}`));
  const symbolIs = (s: string) => (job: Job) => job.data?.params?.symbol === s;

  beforeAll(async () => {
    server = await ProviderServer.start();
    server.answerBy('finnhub', '/quote', (q) =>
      BAD.includes(q.get('symbol') ?? '')
        ? { status: 500, body: '{"error":"Internal Server Error"}' }
        : q.get('symbol') === 'SLOW'
          ? { delayMs: 280_000, fixture: 'finnhub/quote.json' }
          : undefined,
    );
    smtp = await TestSmtp.start();
    for (const r of REJECTED) smtp.rejectRecipients.add(r);
    env = await jobEnv(redisUrl, {
      label: 'find',
      env: {
        FINNHUB_BASE_URL: server.finnhubUrl,
        FINNHUB_API_KEY: 'fh-key',
        COINGECKO_BASE_URL: server.coingeckoUrl,
        COINGECKO_API_KEY: 'cg-key',
        // The local stand-in has no plan: without this, the plans' rate limits (docs/rate-limits.md)
        // would spread 1,600 fetches over half an hour.
        FINNHUB_RATE_LIMIT: '100000/s',
        COINGECKO_RATE_LIMIT: '100000/s',
        MAIL_HOST: '127.0.0.1',
        MAIL_PORT: String(smtp.port),
        MAIL_ENCRYPTION: 'none',
        MAIL_FROM_ADDRESS: 'noreply@example.test',
        ADMIN_EMAIL: 'admin@example.test',
      },
      file: {
        providers: { timeoutMs: 290_000 },
        refresh: {
          stock: { watchlist: ['AAPL', 'MSFT'], list: false, news: false },
          crypto: { listPages: 1, trending: false, ids: ['bitcoin'], charts: false },
        },
      },
    });

    // Processed by two real workers: completed, and failed for real (500, 404, SMTP 550).
    await dispatchBulk(env.config, [
      ...Array.from({ length: 1450 }, (_, i) => quote(i)),
      ...Array.from({ length: 60 }, (_, i) => ({ ...quote(i), data: { method: 'getStockProfile', params: { symbol: GOOD[i % GOOD.length] } } })),
      ...Array.from({ length: 90 }, (_, i) => crypto(i)),
      ...Array.from({ length: 300 }, (_, i) => mail(i)),
      ...['RefreshStockCache', 'RefreshCryptoCache', 'UpdateRaffleStatuses', 'SelectRaffleWinners'].flatMap((job) => [plain(job), plain(job)]),
    ]);
    const workers = [
      worker('--queue', 'default,emails', '--concurrency', '25', '--stop-when-empty'),
      worker('--queue', 'default,emails', '--concurrency', '25', '--stop-when-empty'),
    ];
    const exits = await Promise.all(workers.map((w) => w.exit(150_000)));
    expect(exits.map((e) => e.code)).toEqual([0, 0]);

    // Left for later: waiting, delayed, prioritized (added by another application with a priority).
    await dispatchBulk(env.config, [
      ...Array.from({ length: 400 }, (_, i) => quote(i)),
      ...Array.from({ length: 60 }, (_, i) => mail(i)),
      ...Array.from({ length: 20 }, (_, i) => crypto(i)),
      ...['UpdateRaffleStatuses', 'SelectRaffleWinners', 'RefreshStockCache'].map((job) => plain(job)),
      ...Array.from({ length: 300 }, (_, i) => quote(i, { delayMs: 2 * HOUR })),
      ...Array.from({ length: 40 }, (_, i) => mail(i, { delayMs: 2 * HOUR })),
      ...['UpdateRaffleStatuses', 'SelectRaffleWinners', 'RefreshCryptoCache'].map((job) => plain(job, { delayMs: HOUR })),
    ]);
    await queue('default').addBulk(
      Array.from({ length: 150 }, (_, i) => ({
        name: 'FetchStockData',
        data: { method: 'getStockQuote', params: { symbol: ALL[i % ALL.length] } },
        opts: { priority: 1 + (i % 9), attempts: 1 },
      })),
    );
    // And one running: a quote the provider answers very slowly.
    await dispatchBulk(env.config, [{ job: 'FetchStockData', queue: 'slow', data: { method: 'getStockQuote', params: { symbol: 'SLOW' } }, tries: 1 }]);
    slowWorker = worker('--queue', 'slow', '--concurrency', '1');
    await slowWorker.waitFor((e) => e.event === 'processing', 30_000, 'the slow job to start');
  }, 240_000);

  afterAll(async () => {
    await server?.close();
    await slowWorker?.stop();
    await Promise.all([...queues.values()].map((q) => q.close()));
    await smtp?.close();
    await env?.cleanup();
  });

  it('the fixture: every bundled job type, in every state', async () => {
    const seen = new Map<string, Set<string>>();
    for (const name of ['default', 'emails', 'slow']) {
      for (const type of Object.keys(TYPES)) {
        for (const job of await queue(name).getJobs([type as never], 0, -1)) {
          if (!job) continue;
          if (!seen.has(job.name)) seen.set(job.name, new Set());
          seen.get(job.name)!.add(TYPES[type]);
        }
      }
    }
    expect([...seen.keys()].sort()).toEqual([
      'FetchCryptoData',
      'FetchStockData',
      'RefreshCryptoCache',
      'RefreshStockCache',
      'SelectRaffleWinners',
      'SendEmail',
      'UpdateRaffleStatuses',
    ]);
    expect([...seen.get('FetchStockData')!].sort()).toEqual(['active', 'completed', 'delayed', 'failed', 'prioritized', 'waiting']);
    expect([...seen.get('SendEmail')!].sort()).toEqual(['completed', 'delayed', 'failed', 'waiting']);
    expect(seen.get('FetchCryptoData')).toContain('failed');
    let total = 0;
    for (const name of ['default', 'emails', 'slow']) total += Object.values(await queue(name).getJobCounts()).reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(2500);
  });

  it('finds by symbol: the same jobs as BullMQ’s getters, every state but active, newest first', async () => {
    const r = await cli('jobs', 'find', '--where', 'params.symbol=AAPL', '--limit', '0', '--json');
    expect(r.exitCode, r.stderr).toBe(0);
    const expected = await oracle(symbolIs('AAPL'));
    expect(keysOf(r.json.jobs)).toEqual(expected);
    expect(r.json.total).toBe(expected.size);
    expect(new Set(r.json.jobs.map((j: any) => j.state))).toEqual(new Set(['completed', 'waiting', 'delayed', 'prioritized']));
    expect(r.json.corrupt).toEqual([]);
    const job = r.json.jobs[0];
    expect(Object.keys(job)).toEqual(
      expect.arrayContaining(['id', 'queue', 'name', 'state', 'data', 'failedReason', 'attemptsMade', 'timestamp', 'finishedOn']),
    );
    const time = (j: any) => (j.state === 'completed' || j.state === 'failed' ? j.finishedOn : j.timestamp);
    for (let i = 1; i < r.json.jobs.length; i++) expect(time(r.json.jobs[i])).toBeLessThanOrEqual(time(r.json.jobs[i - 1]));

    const human = await cli('jobs', 'find', '--where', 'params.symbol=AAPL', '--limit', '5');
    expect(human.exitCode).toBe(0);
    expect(human.stdout.split('\n')[0]).toMatch(/^id\s+queue\s+state\s+job\s+data\s+when$/);
    expect(human.stdout.trim().split('\n')).toHaveLength(6);
    expect(human.stderr).toContain(`showing the newest 5 of ${expected.size}`);

    const active = await cli('jobs', 'find', '--state', 'active', '--where', 'params.symbol=SLOW', '--json');
    expect(active.json.jobs.map((j: any) => [j.queue, j.state, j.data.params.symbol])).toEqual([['slow', 'active', 'SLOW']]);
  });

  it('finds by e-mail address: an element of `to`, or the inquiry’s data.email', async () => {
    const to = await cli('jobs', 'find', '--where', 'to=user7@example.com', '--limit', '0', '--json');
    expect(to.exitCode, to.stderr).toBe(0);
    const expectedTo = await oracle((job) => job.name === 'SendEmail' && (job.data.to as string[]).includes('user7@example.com'));
    expect(keysOf(to.json.jobs)).toEqual(expectedTo);
    // The SMTP server refused that recipient: mails to it alone failed (sent with another recipient, they
    // completed); the ones added later wait.
    const states = new Set(to.json.jobs.map((j: any) => j.state));
    for (const s of ['failed', 'completed', 'waiting', 'delayed']) expect(states).toContain(s);

    const lead = await cli('jobs', 'find', '--where', 'data.email=lead3@example.org', '--state', 'completed,failed', '--limit', '0', '--json');
    expect(keysOf(lead.json.jobs)).toEqual(await oracle((job) => job.data?.data?.email === 'lead3@example.org', ['completed', 'failed']));
    expect(lead.json.total).toBeGreaterThan(0);
  });

  it('finds by regular expression (case-insensitive), combined with --name and --error', async () => {
    const re = await cli('jobs', 'find', '--where', 'params.symbol~^sym1\\d$', '--limit', '0', '--json');
    expect(re.exitCode, re.stderr).toBe(0);
    const expected = await oracle((job) => /^sym1\d$/i.test(job.data?.params?.symbol ?? ''));
    expect(keysOf(re.json.jobs)).toEqual(expected);
    expect(expected.size).toBeGreaterThan(100);

    const coins = await cli(
      'jobs',
      'find',
      '--name',
      'FetchCryptoData:getCryptoDetail',
      '--error',
      'HTTP 404',
      '--where',
      'params.id~^nocoin',
      '--limit',
      '0',
      '--json',
    );
    const failedCoins = await oracle((job) => job.name === 'FetchCryptoData' && /HTTP 404/i.test(job.failedReason ?? ''), ['failed']);
    expect(keysOf(coins.json.jobs)).toEqual(failedCoins);
    expect(failedCoins.size).toBeGreaterThan(0);

    const mails = await cli('jobs', 'find', '--name', 'SendEmail', '--where', 'to~@EXAMPLE\\.com$', '--where', 'data.property.id=12', '--json');
    expect(keysOf(mails.json.jobs)).toEqual(await oracle((job) => job.name === 'SendEmail' && job.data.data.property.id === 12));
  });

  it('jobs show: one job in any state, with its state and its return value or reason', async () => {
    const pick = async (state: string, pred: (j: Job) => boolean) => [...(await oracle((j) => pred(j), [state]))][0].split('/');
    const [cq, cid] = await pick('completed', symbolIs('NVDA'));
    const completed = await cli('jobs', 'show', cid, '--queue', cq, '--json');
    expect(completed.exitCode, completed.stderr).toBe(0);
    expect(completed.json).toMatchObject({ id: cid, queue: cq, state: 'completed', name: 'FetchStockData', data: { params: { symbol: 'NVDA' } } });
    expect(completed.json.returnvalue).toBeDefined();
    const human = await cli('jobs', 'show', cid, '--queue', cq);
    expect(human.stdout).toMatch(/^state\s+completed$/m);
    expect(human.stdout).toContain('return value');

    const [fq, fid] = await pick('failed', symbolIs('BAD1'));
    expect((await cli('jobs', 'show', fid, '--queue', fq, '--json')).json).toMatchObject({ state: 'failed', failedReason: expect.stringContaining('500') });
    for (const state of ['wait', 'delayed', 'prioritized']) {
      const [q, id] = await pick(state, symbolIs('MSFT'));
      expect((await cli('jobs', 'show', id, '--queue', q, '--json')).json.state).toBe(TYPES[state]);
    }
    const [aq, aid] = await pick('active', () => true);
    expect((await cli('jobs', 'show', aid, '--queue', aq, '--json')).json).toMatchObject({ state: 'active', data: { params: { symbol: 'SLOW' } } });

    // Ids are unique per queue only: job 1 exists in default and emails.
    const ambiguous = await cli('jobs', 'show', '1');
    expect(ambiguous.exitCode).toBe(2);
    expect(ambiguous.stderr).toMatch(/found in more than one queue: default, emails/);
    const missing = await cli('jobs', 'show', 'no-such-job');
    expect(missing.exitCode).toBe(2);
    expect(missing.stdout).toBe('');
  });

  it('bad input is exit 2 with one clear line, and nothing is read or changed', async () => {
    const before = await cli('queue', 'status', '--json');
    for (const [args, message] of [
      [['--where', 'params.symbol~(AAPL'], /not a valid regular expression/],
      [['--where', 'params..symbol=AAPL'], /empty segment/],
      [['--where', 'params.symbol'], /PATH=VALUE or PATH~REGEX/],
      [['--state', 'failed,stuck'], /unknown state stuck/],
      [['--state', 'waiting', '--retry'], /--retry does not apply to waiting jobs/],
      [['--state', 'failed', '--promote'], /--promote does not apply to failed jobs/],
      [['--retry', '--remove', '--yes'], /choose one action/],
      [['--dry-run'], /--dry-run goes with an action/],
      [['--since', 'yesterday-ish'], /--since must be a duration/],
      [['--remove', '--where', 'params.symbol=AAPL'], /refusing to remove jobs without confirmation/],
    ] as const) {
      const r = await cli('jobs', 'find', ...args);
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stdout).toBe('');
    }
    expect((await cli('queue', 'status', '--json')).json).toEqual(before.json);
  });

  it('a corrupt job hash is listed under corrupt with its state, never breaks the walk', async () => {
    const [, id] = [...(await oracle(symbolIs('SYM22'), ['completed']))][0].split('/');
    const key = `${env.config.queue.prefix}:default:${id}`;
    const data = (await env.queueDb.hget(key, 'data'))!;
    await env.queueDb.hset(key, 'data', '{"method":"getStockQuote","params":{"symbol":"SYM22"');
    try {
      const r = await cli('jobs', 'find', '--where', 'params.symbol=SYM22', '--json');
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.json.corrupt).toEqual([
        { id, queue: 'default', state: 'completed', name: 'FetchStockData', error: expect.stringMatching(/^data is not valid JSON/) },
      ]);
      expect(r.json.corruptTotal).toBe(1);
      expect(r.json.jobs.map((j: any) => j.id)).not.toContain(id);
      expect(r.json.total).toBeGreaterThan(0);
    } finally {
      await env.queueDb.hset(key, 'data', data);
    }
  });

  it('--export writes the matches in full as JSON lines, beside the file and renamed, never through a symlink', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rqctl-export-'));
    const elsewhere = join(dir, 'elsewhere.txt');
    writeFileSync(elsewhere, 'keep me\n');
    const file = join(dir, 'aapl.jsonl');
    // A link at the target is refused like every write of rqctl's (failed export, config generate).
    symlinkSync(elsewhere, file);
    const linked = await cli('jobs', 'find', '--where', 'params.symbol=AAPL', '--export', file);
    expect(linked.exitCode).toBe(2);
    expect(linked.stderr).toMatch(/symbolic link/);
    expect(readFileSync(elsewhere, 'utf8')).toBe('keep me\n');
    expect(lstatSync(file).isSymbolicLink()).toBe(true);
    rmSync(file);

    const r = await cli('jobs', 'find', '--where', 'params.symbol=AAPL', '--state', 'completed,delayed', '--export', file, '--json');
    expect(r.exitCode, r.stderr).toBe(0);
    const expected = await oracle(symbolIs('AAPL'), ['completed', 'delayed']);
    expect(r.json).toMatchObject({ total: expected.size, exported: expected.size, out: file });
    expect(readFileSync(elsewhere, 'utf8')).toBe('keep me\n');
    expect(lstatSync(file).isSymbolicLink()).toBe(false);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const lines = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(keysOf(lines)).toEqual(expected);
    const done = lines.find((l) => l.state === 'completed');
    expect(done).toMatchObject({ name: 'FetchStockData', opts: expect.any(Object), returnvalue: expect.anything(), data: { params: { symbol: 'AAPL' } } });
    expect(readdirSync(dir).sort()).toEqual(['aapl.jsonl', 'elsewhere.txt']);

    const nowhere = await cli('jobs', 'find', '--where', 'params.symbol=AAPL', '--export', join(dir, 'missing', 'x.jsonl'));
    expect(nowhere.exitCode).toBe(2);
    expect(nowhere.stderr).toMatch(/does not exist/);
    expect(existsSync(join(dir, 'missing'))).toBe(false);
  });

  it('--remove takes out the delayed matches only (asks, or needs --yes); --dry-run counts', async () => {
    const target = await oracle(symbolIs('SYM05'), ['delayed']);
    const othersDelayed = (await queue('default').getDelayedCount()) - target.size;
    const waitingSym05 = await oracle(symbolIs('SYM05'), ['wait']);
    expect(target.size).toBeGreaterThan(0);

    const dry = await cli('jobs', 'find', '--state', 'delayed', '--where', 'params.symbol=SYM05', '--remove', '--dry-run', '--json');
    expect(dry.json).toMatchObject({ total: target.size, removed: target.size, dryRun: true });
    expect(await oracle(symbolIs('SYM05'), ['delayed'])).toEqual(target);

    const r = await cli('jobs', 'find', '--state', 'delayed', '--where', 'params.symbol=SYM05', '--remove', '--yes', '--json');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ total: target.size, removed: target.size, skipped: [] });
    for (const k of target) expect(await env.queueDb.exists(`${env.config.queue.prefix}:default:${k.split('/')[1]}`)).toBe(0);
    expect(await queue('default').getDelayedCount()).toBe(othersDelayed);
    expect(await oracle(symbolIs('SYM05'), ['wait'])).toEqual(waitingSym05);
  });

  it('--retry moves only the failed matches back, and they complete once the provider answers', async () => {
    const failedBad2 = await oracle(symbolIs('BAD2'), ['failed']);
    const otherFailed = (await queue('default').getFailedCount()) - failedBad2.size;
    expect(failedBad2.size).toBeGreaterThan(10);

    const r = await cli('jobs', 'find', '--where', 'params.symbol=BAD2', '--retry', '--json');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ total: failedBad2.size, retried: failedBad2.size, skipped: [] });
    expect(await oracle(symbolIs('BAD2'), ['failed'])).toEqual(new Set());
    expect(await queue('default').getFailedCount()).toBe(otherFailed);

    server.answerBy('finnhub', '/quote', (q) => (['BAD1', 'BAD3'].includes(q.get('symbol') ?? '') ? { status: 500, body: '{"error":"down"}' } : undefined));
    const w = worker('--queue', 'default', '--concurrency', '25', '--stop-when-empty');
    expect((await w.exit(120_000)).code).toBe(0);
    for (const k of failedBad2) {
      const id = k.split('/')[1];
      expect(await (await queue('default').getJob(id))!.getState(), `job ${id}`).toBe('completed');
    }
  });
});

/**
 * The walk and a worker at the same time: while `jobs find --retry` walks the failed and completed
 * sets (more than a page of each), the worker runs the retried jobs at once, and they fail again or
 * now complete — moving into the completed set the walk has still to read. Each match must be retried
 * at most once. Counted per job id by BullMQ's own attempt counter (one more per run: 2 = retried
 * once), after the worker has run everything.
 */
describe('jobs find --retry while a worker completes and fails jobs', () => {
  let server: ProviderServer;
  let env: JobEnv;
  let w: CliProcess | undefined;
  // RACE0 always fails; RACE1 and RACE2 fail until the walk starts, then succeed.
  let flaky = true;

  beforeAll(async () => {
    server = await ProviderServer.start();
    server.answerBy('finnhub', '/quote', (q) => {
      const symbol = q.get('symbol') ?? '';
      return symbol === 'RACE0' || (flaky && /^RACE[12]$/.test(symbol)) ? { status: 500, body: '{"error":"down"}' } : undefined;
    });
    // No plan on the local stand-in: Finnhub's default rate limits would spread 2,400 fetches over 40 minutes.
    env = await jobEnv(redisUrl, { label: 'race', env: { FINNHUB_BASE_URL: server.finnhubUrl, FINNHUB_API_KEY: 'fh-key', FINNHUB_RATE_LIMIT: '100000/s' } });
  });

  afterAll(async () => {
    await w?.stop();
    await server?.close();
    await env?.cleanup();
  });

  it('retries each match once, from the state it was found in, while the worker completes and fails the retried jobs', async () => {
    const N = 2400;
    const key = (k: string) => `${env.config.queue.prefix}:race:${k}`;
    await dispatchBulk(
      env.config,
      Array.from({ length: N }, (_, i) => ({
        job: 'FetchStockData',
        queue: 'race',
        data: { method: 'getStockQuote', params: { symbol: `RACE${i % 6}` } },
        tries: 1,
      })),
    );
    w = new CliProcess(['worker', '--queue', 'race', '--concurrency', '8', '--sleep', '1'], env.env, env.cwd);
    const settled = async () => (await env.queueDb.llen(key('wait'))) === 0 && (await env.queueDb.llen(key('active'))) === 0;
    let deadline = Date.now() + 90_000;
    while ((await env.queueDb.zcard(key('failed'))) + (await env.queueDb.zcard(key('completed'))) < N && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(await env.queueDb.zcard(key('failed'))).toBe(N / 2);

    flaky = false;
    const r = await runCli(['jobs', 'find', '--queue', 'race', '--state', 'failed,completed', '--where', 'params.symbol~^race', '--retry', '--json'], {
      env: env.env,
      cwd: env.cwd,
    });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.json.total).toBe(r.json.retried + r.json.skipped.length);
    expect(r.json.retried).toBeGreaterThan(N / 2);
    deadline = Date.now() + 90_000;
    while (!(await settled()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await w.stop();

    const ids = Array.from({ length: N }, (_, i) => String(i + 1));
    const pipe = env.queueDb.pipeline();
    for (const id of ids) pipe.hget(key(id), 'atm');
    const runs = (await pipe.exec())!.map(([, v]) => Number(v));
    const count = (n: number) => runs.filter((x) => x === n).length;
    expect(Math.max(...runs)).toBe(2);
    expect(count(2)).toBe(r.json.retried);
    // BullMQ's retry script records where each job came from: only the states the walk was told.
    for (const [, fields] of await env.queueDb.xrange(key('events'), '-', '+')) {
      const f = Object.fromEntries(Array.from({ length: fields.length / 2 }, (_, i) => [fields[2 * i], fields[2 * i + 1]]));
      if (f.event === 'waiting' && f.prev && f.prev !== 'active' && f.prev !== 'delayed') expect(['failed', 'completed']).toContain(f.prev);
    }
  });
});

function hasScript(): boolean {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** `--remove` asks on a terminal, through a real pseudo-terminal (`script` from util-linux), after counting the matches. */
describe.runIf(hasScript())('jobs find --remove on a terminal', () => {
  let env: JobEnv;

  beforeAll(async () => {
    env = await jobEnv(redisUrl, { label: 'ask' });
    await dispatchBulk(env.config, [
      ...Array.from({ length: 5 }, () => quote(0, { delayMs: HOUR })),
      ...Array.from({ length: 3 }, () => quote(1, { delayMs: HOUR })),
    ]);
  });

  afterAll(async () => {
    await env?.cleanup();
  });

  async function onTerminal(args: string[], answer: string): Promise<{ code: number | null; output: string }> {
    const cmd = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const child = spawn('script', ['-qec', cmd, '/dev/null'], { env: cleanEnv(env.env), cwd: env.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    const deadline = Date.now() + 20_000;
    while (!/\(y\/N\)/.test(output) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    child.stdin.write(`${answer}\r`);
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    return { code, output };
  }

  it('says how many match and where; "n" removes nothing (exit 0), "y" removes them', async () => {
    const delayed = () => env.queueDb.zcard(`${env.config.queue.prefix}:default:delayed`);
    const args = ['jobs', 'find', '--state', 'delayed', '--where', `params.symbol=${ALL[0]}`, '--remove'];
    const no = await onTerminal(args, 'n');
    expect(no.output).toMatch(/Remove 5 jobs that match \(queues: default, emails; states: delayed\)\?/);
    expect(no.code).toBe(0);
    expect(no.output).toMatch(/nothing removed/);
    expect(await delayed()).toBe(8);

    const yes = await onTerminal(args, 'y');
    expect(yes.code).toBe(0);
    expect(yes.output).toMatch(/removed 5 matching jobs/);
    expect(await delayed()).toBe(3);
  });
});
