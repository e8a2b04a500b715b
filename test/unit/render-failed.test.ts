import { describe, expect, it } from 'vitest';
import { flushPhrase, forgetPhrase, printFailedJob, printFailedList, printFlush, printForget, printRetry } from '../../src/cli/render/failed.js';
import type { FailedJobDetail } from '../../src/queue/failed/detail.js';
import type { FailedList } from '../../src/queue/failed/list.js';
import type { RetryResult } from '../../src/queue/failed/retry.js';
import { captureOutput } from '../helpers/output.js';

const NOW = Date.parse('2024-05-01T12:00:00Z');

const list: FailedList = {
  total: 3,
  jobs: [
    {
      id: '12',
      queue: 'default',
      name: 'FetchStockData',
      method: 'getStockQuote',
      failedReason: `Finnhub getStockQuote: HTTP 500: ${'x'.repeat(80)}\nsecond line`,
      attemptsMade: 3,
      attempts: 3,
      timestamp: NOW - 3_700_000,
      processedOn: NOW - 3_650_000,
      finishedOn: NOW - 3_660_000,
    },
    {
      id: '4',
      queue: 'emails',
      name: 'SendEmail',
      failedReason: 'SMTP 554 mailbox unavailable',
      attemptsMade: 1,
      attempts: 2,
      timestamp: null,
      processedOn: null,
      finishedOn: NOW - 90_000,
    },
  ],
  corrupt: [{ id: '9', queue: 'default', error: 'data is not valid JSON: Unexpected token' }],
  queues: ['default', 'emails'],
};

describe('failed list', () => {
  it('a table, newest first, with the reason cut to one line and how long ago; the corrupt hashes apart', () => {
    const { out, stdout, stderr } = captureOutput();
    printFailedList(out, list, { filtered: false, now: NOW });
    const lines = stdout().split('\n');
    expect(lines[0]).toMatch(/^id\s+queue\s+job\s+reason\s+attempts\s+failed$/);
    expect(lines[1]).toMatch(new RegExp(`^12\\s+default\\s+FetchStockData:getStockQuote\\s+Finnhub getStockQuote: HTTP 500: x{26}…\\s+3/3\\s+1h 1m ago$`));
    expect(lines[2]).toMatch(/^4\s+emails\s+SendEmail\s+SMTP 554 mailbox unavailable\s+1\/2\s+1m ago$/);
    expect(stdout()).toContain('corrupt job hashes (1): BullMQ cannot load these; `rqctl failed forget <id> --queue <queue>` removes them');
    expect(stdout()).toMatch(/^9\s+default\s+data is not valid JSON: Unexpected token$/m);
    expect(stderr()).toBe('showing the newest 2 of 3; --limit 0 lists all, `rqctl failed export` writes them as JSON lines\n');
  });

  it('nothing failed, or nothing matches the filters: one line on stderr, stdout empty', () => {
    const empty: FailedList = { total: 0, jobs: [], corrupt: [], queues: ['default', 'emails'] };
    const all = captureOutput();
    printFailedList(all.out, empty, { filtered: false });
    expect(all.stdout()).toBe('');
    expect(all.stderr()).toBe('no failed jobs (queues: default, emails)\n');
    const some = captureOutput();
    printFailedList(some.out, empty, { filtered: true });
    expect(some.stderr()).toBe('no failed jobs match (queues: default, emails)\n');
  });

  it('--json: {total, jobs, corrupt} on stdout, nothing on stderr', () => {
    const { out, stdout, stderr } = captureOutput({ json: true });
    printFailedList(out, list, { filtered: false, now: NOW });
    expect(JSON.parse(stdout())).toEqual({ total: 3, jobs: list.jobs, corrupt: list.corrupt });
    expect(stdout().split('\n')).toHaveLength(2);
    expect(stderr()).toBe('');
  });
});

describe('failed show', () => {
  const job: FailedJobDetail = {
    id: '12',
    queue: 'default',
    state: 'failed',
    name: 'FetchStockData',
    method: 'getStockQuote',
    data: { method: 'getStockQuote', params: { symbol: 'AAPL' } },
    opts: { attempts: 3 },
    failedReason: 'HTTP 500',
    stacktrace: ['Error: first', 'Error: HTTP 500\n    at quote (methods.js:1:1)'],
    attemptsMade: 3,
    attempts: 3,
    timestamp: Date.parse('2024-05-01T10:00:00Z'),
    processedOn: Date.parse('2024-05-01T10:00:01Z'),
    finishedOn: Date.parse('2024-05-01T10:00:02Z'),
    delay: 0,
    priority: 0,
    logs: ['fetching AAPL'],
    logCount: 4,
  };

  it('fields, reason, payload, the last stack trace and the last logs', () => {
    const { out, stdout } = captureOutput();
    printFailedJob(out, job, NOW);
    expect(stdout()).toBe(
      [
        'id         12',
        'queue      default',
        'job        FetchStockData getStockQuote',
        'state      failed',
        'attempts   3 of 3',
        'added      2024-05-01T10:00:00.000Z',
        'processed  2024-05-01T10:00:01.000Z',
        'failed     2024-05-01T10:00:02.000Z (1h 59m ago)',
        '',
        'reason',
        '  HTTP 500',
        '',
        'payload',
        '  {',
        '    "method": "getStockQuote",',
        '    "params": {',
        '      "symbol": "AAPL"',
        '    }',
        '  }',
        '',
        'stack trace (last of 2 attempts)',
        '  Error: HTTP 500',
        '      at quote (methods.js:1:1)',
        '',
        'logs (last 1 of 4)',
        '  fetching AAPL',
        '',
      ].join('\n'),
    );
  });

  it('a corrupt job: its raw payload, said to be corrupt; --json is the detail as is', () => {
    const corrupt = { ...job, corrupt: 'data is not valid JSON', data: '{not json', stacktrace: [], logs: [], logCount: 0 };
    const human = captureOutput();
    printFailedJob(human.out, corrupt, NOW);
    expect(human.stdout()).toContain('state      failed, corrupt');
    expect(human.stdout()).toContain('corrupt: data is not valid JSON\n');
    expect(human.stdout()).toContain('payload (raw, as stored)\n  {not json\n');
    const json = captureOutput({ json: true });
    printFailedJob(json.out, corrupt, NOW);
    expect(JSON.parse(json.stdout())).toEqual(corrupt);
  });
});

describe('failed retry, forget, flush', () => {
  const retried: RetryResult = {
    retried: 5,
    dryRun: false,
    queues: [
      { name: 'default', retried: 5, method: 'per-job' },
      { name: 'emails', retried: 0, method: 'per-job' },
    ],
    corrupt: [{ id: '9', queue: 'default', error: 'data is not valid JSON' }],
    pausedQueues: ['default'],
    skipped: [{ id: '3', queue: 'default', reason: 'no longer failed (retried or removed meanwhile)' }],
  };

  it('retry: the count per queue on stdout; corrupt, skipped and paused queues on stderr', () => {
    const { out, stdout, stderr } = captureOutput();
    printRetry(out, retried);
    expect(stdout()).toBe('retried 5 failed jobs (default: 5)\n');
    expect(stderr()).toBe(
      [
        'warning: 1 corrupt job hash stays in the failed set, not retried (BullMQ cannot load it):',
        '  default 9: data is not valid JSON',
        '  `rqctl failed forget <id> --queue <queue>` removes them, `rqctl failed show <id>` shows the raw fields',
        'warning: default 3 not retried: no longer failed (retried or removed meanwhile)',
        'warning: queue default is paused: its retried jobs wait for `rqctl queue resume default`',
        '',
      ].join('\n'),
    );
  });

  // Corrupt jobs are never retried, not even by the unfiltered bulk move (issue 13 item 15): no "corruptMoved".
  it('retry --dry-run --json: the result without pausedQueues, with dryRun, and the corrupt ones left out', () => {
    const { out, stdout } = captureOutput({ json: true });
    printRetry(out, { ...retried, dryRun: true, pausedQueues: undefined });
    expect(JSON.parse(stdout())).toEqual({
      retried: 5,
      dryRun: true,
      queues: retried.queues,
      corrupt: retried.corrupt,
      skipped: retried.skipped,
    });
    const human = captureOutput();
    printRetry(human.out, { ...retried, dryRun: true, skipped: [], pausedQueues: undefined });
    expect(human.stdout()).toBe('would retry 5 failed jobs (default: 5) (dry run, nothing changed)\n');
    expect(human.stderr()).toMatch(/^warning: 1 corrupt job hash stays in the failed set, not retried/);
  });

  it('forget and flush: what they ask, what they say, and a "no" at the prompt', () => {
    expect(forgetPhrase([{ id: '3', queue: 'default' }])).toBe('remove failed job default 3');
    expect(forgetPhrase(Array.from({ length: 6 }, (_, i) => ({ id: String(i), queue: 'default' })))).toBe('remove failed jobs 6 jobs');
    expect(
      flushPhrase({
        cutoff: 0,
        hours: 2,
        total: 3,
        queues: [
          { name: 'default', count: 3 },
          { name: 'emails', count: 0 },
        ],
      }),
    ).toBe('remove 3 failed jobs that failed more than 2 h ago (default: 3)');

    const forgot = captureOutput();
    printForget(forgot.out, { removed: 1, dryRun: false, queues: [{ name: 'default', removed: 1 }], skipped: [] });
    expect(forgot.stdout()).toBe('removed 1 failed job\n');
    const flushed = captureOutput({ json: true });
    printFlush(flushed.out, { removed: 3, dryRun: true, queues: [{ name: 'default', removed: 3 }], skipped: [] });
    expect(JSON.parse(flushed.stdout())).toEqual({ removed: 3, dryRun: true });
    const declined = captureOutput();
    printFlush(declined.out, { declined: true });
    expect(declined.stdout()).toBe('');
    expect(declined.stderr()).toBe('not confirmed: nothing removed\n');
    const declinedJson = captureOutput({ json: true });
    printForget(declinedJson.out, { declined: true });
    expect(JSON.parse(declinedJson.stdout())).toEqual({ removed: 0, declined: true });
  });
});
