import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { BIN, cleanEnv, runCli } from '../helpers/cli.js';
import { makeFixture, providerServer, stockQuoteProcessor, type Fixture } from '../helpers/failed-fixtures.js';

const plain = inject('plainRedisUrl');

/**
 * The issue's "done when", end to end: 20 getStockQuote jobs fail for real against a local provider
 * answering 500, then the operator lists, filters, shows, retries (the provider recovers and they
 * complete), and flushes, with the built CLI.
 */
describe('failed jobs from a provider answering 500', () => {
  let fx: Fixture;
  let provider: Awaited<ReturnType<typeof providerServer>>;
  const cli = (...args: string[]) => runCli(args, { env: fx.env });

  beforeAll(async () => {
    fx = await makeFixture(plain);
    provider = await providerServer();
    const q = fx.queue('default');
    await q.addBulk(
      Array.from({ length: 20 }, (_, i) => ({
        name: 'FetchStockData',
        data: { method: 'getStockQuote', params: { symbol: `SYM${i}` } },
        opts: { attempts: 2, backoff: { type: 'fixed', delay: 10 } },
      })),
    );
    await q.add('SendEmail', { template: 'new-inquiry', data: {} }, { attempts: 1 });
    await fx.work(
      'default',
      async (job, token) => {
        if (job.name === 'SendEmail') throw new Error('SMTP 554 mailbox unavailable');
        return stockQuoteProcessor(provider.baseUrl)(job, token);
      },
      async () => (await q.getFailedCount()) === 21,
    );
  });

  afterAll(async () => {
    await provider?.close();
    await fx?.close();
  });

  it('lists them (the documented --json shape), filterable by --name and --error', async () => {
    const all = await cli('failed', 'list', '--json');
    expect(all.exitCode).toBe(0);
    expect(all.json.total).toBe(21);
    expect(all.json.corrupt).toEqual([]);
    const job = all.json.jobs.find((j: any) => j.name === 'FetchStockData');
    expect(Object.keys(job)).toEqual(expect.arrayContaining(['id', 'queue', 'name', 'failedReason', 'attemptsMade', 'timestamp', 'finishedOn']));
    expect(job).toMatchObject({ queue: 'default', attemptsMade: 2, failedReason: expect.stringContaining('HTTP 500') });
    expect(typeof job.timestamp).toBe('number');
    expect(job.finishedOn).toBeGreaterThanOrEqual(job.timestamp);

    for (const name of [
      'FetchStockData',
      'getStockQuote',
      'FetchStockData:getStockQuote',
      'FetchStockData getStockQuote',
      'fetchstockdata@getstockquote',
      'App\\Jobs\\FetchStockData',
      'Fetch*',
    ]) {
      const r = await cli('failed', 'list', '--json', '--name', name);
      expect(r.exitCode, name).toBe(0);
      expect(r.json.total, name).toBe(20);
      expect(
        r.json.jobs.every((j: any) => j.name === 'FetchStockData'),
        name,
      ).toBe(true);
    }
    expect((await cli('failed', 'list', '--json', '--name', 'FetchStockData:getCryptoList')).json.total).toBe(0);
    expect((await cli('failed', 'list', '--json', '--name', 'SendEmail')).json.total).toBe(1);

    const byError = await cli('failed', 'list', '--json', '--error', 'http 5\\d\\d');
    expect(byError.json.total).toBe(20);
    expect((await cli('failed', 'list', '--json', '--error', 'SMTP 55[0-9]')).json.total).toBe(1);
    expect((await cli('failed', 'list', '--json', '--since', '1h')).json.total).toBe(21);
    expect((await cli('failed', 'list', '--json', '--since', '2000-01-01')).json.total).toBe(21);

    const limited = await cli('failed', 'list', '--json', '--limit', '5');
    expect(limited.json.total).toBe(21);
    expect(limited.json.jobs).toHaveLength(5);
    const finished = limited.json.jobs.map((j: any) => j.finishedOn);
    expect(finished).toEqual([...finished].sort((a, b) => b - a));
  });

  it('prints a table for humans and refuses a bad regex with exit 2', async () => {
    const r = await cli('failed', 'list', '--name', 'getStockQuote', '--limit', '3');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^id\s+queue\s+job\s+reason\s+attempts\s+failed/);
    expect(r.stdout).toContain('FetchStockData:getStockQuote');
    expect(r.stdout).toContain('2/2');
    expect(r.stdout.trim().split('\n')).toHaveLength(4);
    expect(r.stderr).toMatch(/newest 3 of 20/);

    const bad = await cli('failed', 'list', '--error', '(unclosed', '--json');
    expect(bad.exitCode).toBe(2);
    expect(JSON.parse(bad.stderr).error.message).toMatch(/not a valid regular expression/);
    expect(bad.stdout).toBe('');
  });

  it('shows one job: payload, reason, stack, attempts, timeline', async () => {
    const list = await cli('failed', 'list', '--json', '--name', 'getStockQuote', '--limit', '1');
    const id = list.json.jobs[0].id;
    const human = await cli('failed', 'show', id);
    expect(human.exitCode).toBe(0);
    expect(human.stdout).toContain('Finnhub getStockQuote: HTTP 500');
    expect(human.stdout).toMatch(/attempts\s+2 of 2/);
    expect(human.stdout).toMatch(/added\s+\d{4}-/);
    expect(human.stdout).toMatch(/processed\s+\d{4}-/);
    expect(human.stdout).toMatch(/failed\s+\d{4}-/);
    expect(human.stdout).toContain('"symbol": "SYM');
    expect(human.stdout).toMatch(/stack trace[\s\S]*at /);

    const json = await cli('failed', 'show', id, '--queue', 'default', '--json');
    expect(json.json).toMatchObject({ id, queue: 'default', name: 'FetchStockData', method: 'getStockQuote', attemptsMade: 2, attempts: 2 });
    expect(json.json.data.params.symbol).toMatch(/^SYM/);
    expect(json.json.stacktrace.length).toBeGreaterThanOrEqual(1);
    expect(json.json.processedOn).toBeGreaterThanOrEqual(json.json.timestamp);

    const missing = await cli('failed', 'show', '424242');
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/no failed job 424242/);
  });

  it('exports every failed job as one JSON object per line (stdout and --out)', async () => {
    const r = await cli('failed', 'export', '--name', 'getStockQuote');
    expect(r.exitCode).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(20);
    expect(lines[0]).toMatchObject({ queue: 'default', name: 'FetchStockData', failedReason: expect.stringContaining('500') });
    expect(lines[0].data.params.symbol).toMatch(/^SYM/);

    const dir = mkdtempSync(join(tmpdir(), 'rqctl-export-'));
    const file = join(dir, 'failed.jsonl');
    const f = await cli('failed', 'export', '--out', file, '--json');
    expect(f.exitCode).toBe(0);
    expect(f.json).toMatchObject({ exported: 21, out: file });
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(21);
  });

  it('retry all --json retries them; they complete once the provider recovers', async () => {
    const dry = await cli('failed', 'retry', 'all', '--name', 'getStockQuote', '--dry-run', '--json');
    expect(dry.json).toMatchObject({ retried: 20, dryRun: true });
    const q = fx.queue('default');
    expect(await q.getFailedCount()).toBe(21);

    provider.recover();
    const r = await cli('failed', 'retry', 'all', '--json');
    expect(r.exitCode).toBe(0);
    expect(r.json.retried).toBe(21);
    expect(await q.getFailedCount()).toBe(0);
    expect(await q.getWaitingCount()).toBe(21);

    const before = provider.requests();
    await fx.work(
      'default',
      async (job, token) => {
        if (job.name === 'SendEmail') throw new Error('SMTP 554 mailbox unavailable');
        return stockQuoteProcessor(provider.baseUrl)(job, token);
      },
      async () => (await q.getCompletedCount()) === 20 && (await q.getFailedCount()) === 1,
    );
    // Each retried quote ran once more, and completed.
    expect(provider.requests() - before).toBe(20);
    const done = await q.getCompleted(0, -1);
    expect(done.map((j) => j.returnvalue.c)).toEqual(Array(20).fill(189.84));
  });

  it('flush refuses off a terminal without --yes (exit 2, nothing removed), then removes with it', async () => {
    const q = fx.queue('default');
    expect(await q.getFailedCount()).toBe(1);
    const refused = await cli('failed', 'flush');
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/refusing to remove .* without confirmation[\s\S]*--yes/);
    expect(await q.getFailedCount()).toBe(1);
    const refusedJson = await cli('failed', 'flush', '--json');
    expect(refusedJson.exitCode).toBe(2);
    expect(JSON.parse(refusedJson.stderr).error.code).toBe('USAGE');
    expect(refusedJson.stdout).toBe('');

    const dry = await cli('failed', 'flush', '--dry-run', '--json');
    expect(dry.json).toEqual({ removed: 1, dryRun: true });
    expect(await q.getFailedCount()).toBe(1);

    const ok = await cli('failed', 'flush', '--yes', '--json');
    expect(ok.exitCode).toBe(0);
    expect(ok.json).toEqual({ removed: 1 });
    expect(await q.getFailedCount()).toBe(0);
    const again = await cli('failed', 'flush', '--json');
    expect(again.exitCode).toBe(0);
    expect(again.json).toEqual({ removed: 0 });
  });
});

describe('corrupt job hashes', () => {
  let fx: Fixture;
  const cli = (...args: string[]) => runCli(args, { env: fx.env });

  beforeAll(async () => {
    fx = await makeFixture(plain);
    const q = fx.queue('default');
    await q.addBulk(
      Array.from({ length: 6 }, (_, i) => ({ name: 'FetchStockData', data: { method: 'getStockQuote', params: { symbol: `C${i}` } }, opts: { attempts: 1 } })),
    );
    await fx.work(
      'default',
      async () => {
        throw new Error('HTTP 500');
      },
      async () => (await q.getFailedCount()) === 6,
    );
    await fx.redis.hset(`${fx.prefix}:default:2`, 'data', '{not json');
    await fx.redis.hset(`${fx.prefix}:default:4`, 'opts', '{"attempts":');
    // A stale id in the failed set, whose hash is gone.
    await fx.redis.zadd(`${fx.prefix}:default:failed`, Date.now() - 1000, 'ghost');
  });

  afterAll(async () => {
    await fx?.close();
  });

  it("BullMQ's own getter throws for the page; rqctl lists the others and reports the corrupt ones (exit 0)", async () => {
    await expect(fx.queue('default').getFailed()).rejects.toThrow();
    const r = await cli('failed', 'list', '--json');
    expect(r.exitCode).toBe(0);
    expect(r.json.total).toBe(4);
    expect(r.json.jobs.map((j: any) => j.id).sort()).toEqual(['1', '3', '5', '6']);
    const corrupt = Object.fromEntries(r.json.corrupt.map((c: any) => [c.id, c]));
    expect(corrupt['2']).toMatchObject({ queue: 'default', error: expect.stringMatching(/^data is not valid JSON/) });
    expect(corrupt['4']).toMatchObject({ queue: 'default', error: expect.stringMatching(/^opts is not valid JSON/) });
    expect(corrupt.ghost.error).toMatch(/missing/);

    const human = await cli('failed', 'list');
    expect(human.exitCode).toBe(0);
    expect(human.stdout).toMatch(/corrupt job hashes \(3\)/);
  });

  it('a dry run of the unfiltered `retry all` counts only the jobs it would move: the corrupt ones stay (issue 13 item 15)', async () => {
    const r = await cli('failed', 'retry', 'all', '--dry-run', '--json');
    expect(r.exitCode).toBe(0);
    expect(r.json).toMatchObject({ retried: 4, dryRun: true });
    expect(r.json).not.toHaveProperty('corruptMoved');
    expect(r.json.corrupt).toHaveLength(3);
    expect(r.stderr).toMatch(/3 corrupt job hashes stay in the failed set/);
    expect(await fx.redis.zcard(`${fx.prefix}:default:failed`)).toBe(7);
  });

  it('filtered retries skip and report them; show prints the raw fields', async () => {
    const r = await cli('failed', 'retry', 'all', '--name', 'FetchStockData', '--json');
    expect(r.exitCode).toBe(0);
    expect(r.json.retried).toBe(4);
    expect(r.json.corrupt.map((c: any) => c.id).sort()).toEqual(['2', '4', 'ghost']);
    expect(r.stderr).toMatch(/3 corrupt job hashes stay in the failed set, not retried/);
    const failedNow = await fx.redis.zrange(`${fx.prefix}:default:failed`, '0', '-1');
    expect(failedNow.sort()).toEqual(['2', '4', 'ghost']);

    const byId = await cli('failed', 'retry', '2', '--json');
    expect(byId.exitCode).toBe(0);
    expect(byId.json.retried).toBe(0);
    expect(byId.json.corrupt[0]).toMatchObject({ id: '2' });

    const show = await cli('failed', 'show', '2', '--json');
    expect(show.exitCode).toBe(0);
    expect(show.json.corrupt).toMatch(/data is not valid JSON/);
    expect(show.json.raw.data).toBe('{not json');
  });

  it('forget removes corrupt jobs too (hash, set entry, logs); needs --yes off a terminal', async () => {
    await fx.redis.rpush(`${fx.prefix}:default:2:logs`, 'a log line');
    const refused = await cli('failed', 'forget', '2', '4');
    expect(refused.exitCode).toBe(2);
    expect(await fx.redis.exists(`${fx.prefix}:default:2`)).toBe(1);

    const dry = await cli('failed', 'forget', '2', '4', 'ghost', '--dry-run', '--json');
    expect(dry.json).toEqual({ removed: 3, dryRun: true });

    const r = await cli('failed', 'forget', '2', '4', 'ghost', '--yes', '--json');
    expect(r.exitCode).toBe(0);
    expect(r.json).toEqual({ removed: 3 });
    expect(await fx.redis.exists(`${fx.prefix}:default:2`, `${fx.prefix}:default:4`, `${fx.prefix}:default:2:logs`)).toBe(0);
    expect(await fx.redis.zcard(`${fx.prefix}:default:failed`)).toBe(0);

    const gone = await cli('failed', 'forget', '2', '--yes');
    expect(gone.exitCode).toBe(2);
    expect(gone.stderr).toMatch(/no failed job 2/);
  });
});

describe('ids are unique per queue only', () => {
  let fx: Fixture;
  const cli = (...args: string[]) => runCli(args, { env: fx.env });

  beforeAll(async () => {
    fx = await makeFixture(plain);
    for (const name of ['default', 'emails']) {
      const q = fx.queue(name);
      await q.add(name === 'emails' ? 'SendEmail' : 'FetchCryptoData', { n: 1 }, { attempts: 1 });
      await fx.work(
        name,
        async () => {
          throw new Error(`boom in ${name}`);
        },
        async () => (await q.getFailedCount()) === 1,
      );
    }
  });

  afterAll(async () => {
    await fx?.close();
  });

  it('an id in two queues is an error listing both (exit 2, nothing changed); --queue narrows', async () => {
    for (const args of [
      ['failed', 'show', '1'],
      ['failed', 'retry', '1'],
      ['failed', 'forget', '1', '--yes'],
    ]) {
      const r = await cli(...args);
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/1 \(in default, emails\)/);
    }
    expect(await fx.queue('default').getFailedCount()).toBe(1);
    expect(await fx.queue('emails').getFailedCount()).toBe(1);

    const show = await cli('failed', 'show', '1', '--queue', 'emails', '--json');
    expect(show.exitCode).toBe(0);
    expect(show.json).toMatchObject({ queue: 'emails', name: 'SendEmail', failedReason: 'boom in emails' });

    const retry = await cli('failed', 'retry', '1', '--queue', 'emails', '--json');
    expect(retry.json.retried).toBe(1);
    expect(await fx.queue('emails').getFailedCount()).toBe(0);
    expect(await fx.queue('default').getFailedCount()).toBe(1);

    const notFailed = await cli('failed', 'show', '1', '--queue', 'emails');
    expect(notFailed.exitCode).toBe(2);
    expect(notFailed.stderr).toMatch(/exists in emails but is not failed/);
  });

  it('retrying into a paused queue says the jobs wait for resume', async () => {
    const q = fx.queue('default');
    await q.pause();
    try {
      const r = await cli('failed', 'retry', '1', '--queue', 'default', '--json');
      expect(r.json.retried).toBe(1);
      expect(r.stderr).toMatch(/queue default is paused: its retried jobs wait for `rqctl queue resume default`/);
      expect(await q.getWaitingCount()).toBe(1);
    } finally {
      await q.resume();
    }
  });

  it('filters belong to `retry all`; ids with --name is a usage error', async () => {
    const r = await cli('failed', 'retry', '1', '--name', 'X');
    expect(r.exitCode).toBe(2);
    const none = await cli('failed', 'retry');
    expect(none.exitCode).toBe(2);
  });
});

describe('failed export --out', () => {
  it('leaves no partial file when it cannot connect', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rqctl-export-'));
    const file = join(dir, 'x.jsonl');
    const r = await runCli(['failed', 'export', '--out', file], { env: { REDIS_URL: 'redis://127.0.0.1:1/0' } });
    expect(r.exitCode).toBe(3);
    expect(existsSync(file)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });
});

/** The confirmation on a terminal, through a real pseudo-terminal (`script` from util-linux). */
describe.runIf(hasScript())('confirmation on a terminal', () => {
  let fx: Fixture;

  beforeAll(async () => {
    fx = await makeFixture(plain);
    const q = fx.queue('default');
    await q.addBulk(Array.from({ length: 3 }, (_, i) => ({ name: 'SendEmail', data: { i }, opts: { attempts: 1 } })));
    await fx.work(
      'default',
      async () => {
        throw new Error('SMTP 554');
      },
      async () => (await q.getFailedCount()) === 3,
    );
  });

  afterAll(async () => {
    await fx?.close();
  });

  async function onTerminal(args: string[], answer: string): Promise<{ code: number | null; output: string }> {
    const cmd = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const child = spawn('script', ['-qec', cmd, '/dev/null'], { env: cleanEnv(fx.env), stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    const deadline = Date.now() + 20_000;
    while (!/\(y\/N\)/.test(output) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    child.stdin.write(`${answer}\r`);
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    return { code, output };
  }

  it('asks; "n" removes nothing (exit 0), "y" removes', async () => {
    const no = await onTerminal(['failed', 'flush'], 'n');
    expect(no.output).toMatch(/Remove 3 failed jobs \(default: 3\)\?/);
    expect(no.code).toBe(0);
    expect(no.output).toMatch(/nothing removed/);
    expect(await fx.queue('default').getFailedCount()).toBe(3);

    const yes = await onTerminal(['failed', 'flush'], 'y');
    expect(yes.code).toBe(0);
    expect(yes.output).toMatch(/removed 3 failed jobs/);
    expect(await fx.queue('default').getFailedCount()).toBe(0);
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
