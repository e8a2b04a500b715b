import { describe, expect, it } from 'vitest';
import { printBacklogSample, printQueueClear, printQueueStatus, queueClearPhrase } from '../../src/cli/render/queue.js';
import type { BacklogSample } from '../../src/queue/monitor.js';
import type { QueueStatus } from '../../src/queue/status.js';
import { captureOutput } from '../helpers/output.js';

const status = (name: string, over: Partial<QueueStatus> = {}): QueueStatus => ({
  name,
  waiting: 0,
  active: 0,
  delayed: 0,
  failed: 0,
  completed: 0,
  paused: 0,
  isPaused: false,
  prioritized: 0,
  waitingChildren: 0,
  exists: true,
  ...over,
});

describe('queue status', () => {
  const res = {
    queues: [status('default', { waiting: 5, active: 1, delayed: 2, failed: 3, completed: 40 }), status('emails', { waiting: 7, paused: 7, isPaused: true })],
  };

  it('a row per queue with its counts and state', () => {
    const { out, stdout, stderr } = captureOutput();
    printQueueStatus(out, res, undefined);
    expect(stdout().split('\n')).toEqual([
      expect.stringMatching(/^queue\s+waiting\s+active\s+delayed\s+failed\s+completed\s+state$/),
      expect.stringMatching(/^default\s+5\s+1\s+2\s+3\s+40\s+running$/),
      expect.stringMatching(/^emails\s+7\s+0\s+0\s+0\s+0\s+paused$/),
      '',
    ]);
    expect(stderr()).toBe('');
  });

  it('a queue asked for by name that has no keys is warned about (a typo?), in both forms', () => {
    const typo = { queues: [status('defualt', { exists: false })] };
    const human = captureOutput();
    printQueueStatus(human.out, typo, ['defualt']);
    expect(human.stderr()).toBe('warning: queue "defualt" has no keys in Redis (never used, or a typo?)\n');
    const json = captureOutput({ json: true });
    printQueueStatus(json.out, typo, ['defualt']);
    expect(JSON.parse(json.stdout())).toEqual(typo);
    expect(json.stderr()).toContain('no keys in Redis');
    // Discovered queues always exist: no warning without --queue.
    const all = captureOutput();
    printQueueStatus(all.out, typo, undefined);
    expect(all.stderr()).toBe('');
  });

  it('--json: {queues: […]} exactly', () => {
    const { out, stdout } = captureOutput({ json: true });
    printQueueStatus(out, res, undefined);
    expect(JSON.parse(stdout())).toEqual(res);
  });
});

describe('queue clear and monitor', () => {
  it('clear: the question, the summary, --json without the queue name', () => {
    expect(queueClearPhrase({ queue: 'default', waiting: 4, delayed: 1, keptScheduled: 2, total: 5 })).toBe(
      'remove 5 jobs from queue default (waiting 4, delayed 1)',
    );
    const human = captureOutput();
    printQueueClear(human.out, { queue: 'default', removed: 1, waiting: 1, delayed: 0, dryRun: true });
    expect(human.stdout()).toBe('would remove 1 job from default (waiting 1, delayed 0) (dry run, nothing changed)\n');
    const json = captureOutput({ json: true });
    printQueueClear(json.out, { queue: 'default', removed: 5, waiting: 4, delayed: 1, dryRun: false });
    expect(JSON.parse(json.stdout())).toEqual({ removed: 5, waiting: 4, delayed: 1 });
  });

  const sample: BacklogSample = {
    time: '2024-05-01T12:00:00.000Z',
    ok: false,
    queues: [
      {
        name: 'default',
        size: 20,
        waiting: 20,
        prioritized: 0,
        delayedDue: 0,
        active: 2,
        isPaused: false,
        oldestWaitMs: 125_000,
        oldestJobId: '1',
        breaches: ['size 20 > 5'],
      },
      { name: 'emails', size: 0, waiting: 0, prioritized: 0, delayedDue: 0, active: 0, isPaused: true, oldestWaitMs: null, oldestJobId: null, breaches: [] },
    ],
  };

  it('monitor: a table with --once, a line per queue when watching, JSON lines otherwise; crossings warned', () => {
    const table = captureOutput();
    printBacklogSample(table.out, sample, 'table');
    expect(table.stdout()).toMatch(
      /^queue\s+size\s+oldest wait\s+active\s+state\s+check\ndefault\s+20\s+2m 5s\s+2\s+running\s+over\nemails\s+0\s+-\s+0\s+paused\s+ok\n$/,
    );
    expect(table.stderr()).toBe('warning: queue default: size 20 > 5\n');
    const lines = captureOutput();
    printBacklogSample(lines.out, sample, 'lines');
    expect(lines.stdout()).toBe(
      '2024-05-01 12:00:00 default      size=20 oldest=2m 5s active=2 over\n2024-05-01 12:00:00 emails       size=0 oldest=- active=0 paused ok\n',
    );
    const json = captureOutput();
    printBacklogSample(json.out, sample, 'json-lines');
    expect(JSON.parse(json.stdout())).toEqual(sample);
  });
});
