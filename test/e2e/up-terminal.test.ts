import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { tempCwd } from '../helpers/cli.js';
import { addJob, eventually, removePrefix, TEST_JOBS, uniquePrefix } from '../helpers/queue.js';
import { renderTerminal, TerminalCli } from '../helpers/terminal.js';

/**
 * docs/up.md: on a terminal `rqctl up` keeps one status line under the log. It must fit the
 * terminal (truncated, never wrapped), and log lines must never land on it: each is printed after
 * the status is erased, and the status is drawn again below.
 */
const plain = inject('plainRedisUrl');
const HAVE_SCRIPT = spawnSync('script', ['--version']).status === 0;
if (!HAVE_SCRIPT) console.warn('skipping the terminal test of rqctl up: `script` (util-linux) is not installed');

const cleanup: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

const LOG_LINE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d /;

describe.skipIf(!HAVE_SCRIPT)('rqctl up on a 60-column terminal', () => {
  it('item 16: the up status line fits a 60-column terminal and log lines never share its line', async () => {
    const columns = 60;
    const prefix = uniquePrefix('upterm');
    const cwd = tempCwd();
    cleanup.push(() => rmSync(cwd, { recursive: true, force: true }));
    cleanup.push(() => removePrefix(plain, prefix));
    // Three queues with long names: the status line is far wider than 60 columns.
    const queues = 'default,emails,nightly-report-generation';
    const t = new TerminalCli(['up', '--no-scheduler', '--queue', queues, '--concurrency', '2', '--status-interval', '200ms'], {
      columns,
      cwd,
      env: { REDIS_URL: plain, QUEUE_PREFIX: prefix, RQCTL_EXTRA_JOBS: TEST_JOBS },
    });
    cleanup.push(() => t.stop());
    await eventually(async () => /status/.test(t.raw) && /workers 1\b/.test(t.raw), 30_000, 'the status line');
    // Jobs run while the status keeps being redrawn: their log lines interleave with it.
    for (let i = 0; i < 12; i++) {
      await addJob(plain, prefix, 'default', 'TestSlow', { ms: 30 });
      await new Promise((r) => setTimeout(r, 60));
    }
    await eventually(async () => (t.raw.match(/processed/g)?.length ?? 0) >= 12, 30_000, '12 processed jobs');
    await new Promise((r) => setTimeout(r, 500));
    t.interrupt();
    expect(await t.exited).toBe(0);

    const { rows, wrapped } = renderTerminal(t.raw, columns);
    const statusRows = rows.filter((r) => /^status\b/.test(r));
    // The status never overflowed the right margin into a second row…
    expect(
      wrapped.filter((w) => /^status\b/.test(w)),
      rows.join('\n'),
    ).toEqual([]);
    // …and every redraw was erased: what stays is the last one, kept on its own row at the end.
    expect(statusRows, rows.join('\n')).toHaveLength(1);
    expect(statusRows[0].length).toBeLessThanOrEqual(columns);
    expect(statusRows[0]).toMatch(/…$/);
    // A log line starts its own row: none was printed into the status line.
    const logRows = rows.filter((r) => LOG_LINE.test(r) || / (processed|processing) TestSlow #/.test(r));
    expect(logRows.filter((r) => / processed TestSlow #/.test(r)).length).toBeGreaterThanOrEqual(12);
    for (const r of logRows) expect(r, rows.join('\n')).toMatch(LOG_LINE);
    for (const r of rows) expect(r.indexOf('status workers'), r).toBeLessThanOrEqual(0);
  }, 90_000);
});
