import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatEvent, Output } from '../../src/cli/render.js';
import { JobDoneEvent, JobStartedEvent } from '../../src/runtime/events.js';

/** The log line's text without its time, which differs from call to call. */
const untimed = (line: string | undefined) => line?.replace(/^\{"time":"[^"]+",/, '{');

/** What JSON.stringify makes of an event, as rqctl wrote every line before the per-job fast path. */
const reference = (e: object) => untimed(JSON.stringify({ time: 'T', level: 'info', ...e }));

describe('event log lines (JSON, as written to a file or pipe)', () => {
  const out = new Output({}, {}, { stdout: { write: () => true }, stderr: { write: () => true } });

  it('per-job lines from the template are the text the generic serialiser makes', () => {
    const events = [
      new JobStartedEvent('default', 'FetchCryptoData', '12345', 1),
      new JobStartedEvent('mail', 'SendEmail', 'refresh:crypto:2026-12-05T01:00', 3),
      new JobDoneEvent('default', 'FetchCryptoData', '12345', 17),
      new JobDoneEvent('default', 'FetchCryptoData', '12345', undefined),
      // Names and ids that need escaping, or could hold a URL, take the generic path.
      new JobStartedEvent('q"1', 'Odd\\Name', 'a/b', 1),
      new JobDoneEvent('default', 'Job\n', undefined, 5),
      new JobDoneEvent('default', 'Ünïcode', '1', 5),
    ];
    for (const e of events) expect(untimed(formatEvent(out, e)), JSON.stringify(e)).toBe(reference({ ...e }));
  });

  it('generic events: the same text as JSON.stringify, secrets in URLs masked', () => {
    const e = { level: 'warn' as const, event: 'x', msg: 'a "q" \\ b\nc', n: Number.NaN, b: true, nul: null, u: undefined, o: { a: [1, 'x'] }, 'we"ird': 1 };
    expect(untimed(formatEvent(out, e))).toBe(untimed(JSON.stringify({ time: 'T', ...e })));
    expect(formatEvent(out, { event: 'y', url: 'redis://u:secret@h:1/0' })).toContain('"url":"redis://u:****@h:1/0"');
    expect(formatEvent(out, new JobStartedEvent('q', 'redis://u:secret@h:1/0', '1', 1))).not.toContain('secret');
  });

  it('-q drops info lines, the per-job ones included', () => {
    const quiet = new Output({ quiet: true }, {}, { stdout: { write: () => true }, stderr: { write: () => true } });
    expect(formatEvent(quiet, new JobStartedEvent('q', 'J', '1', 1))).toBeUndefined();
    expect(formatEvent(quiet, { level: 'warn', event: 'x' })).toBeDefined();
  });
});

describe('the event log writer (batched into a buffer, written every 25 ms or 64 KB)', () => {
  /** Runs `body` in a real process writing to a pipe, as a worker under supervisord or `up` does (npm test builds dist/). */
  const runLogger = (body: string) => {
    const render = pathToFileURL(join(process.cwd(), 'dist/cli/render.js')).href;
    const events = pathToFileURL(join(process.cwd(), 'dist/runtime/events.js')).href;
    const script = `
      const { eventLogger, Output } = await import(${JSON.stringify(render)});
      const { JobStartedEvent, JobDoneEvent } = await import(${JSON.stringify(events)});
      ${body}
    `;
    return execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  };

  it('per-job lines written as bytes are the text the generic serialiser makes', () => {
    const events: [string, string, string, string | undefined, number | undefined][] = [
      ['started', 'default', 'FetchCryptoData', '12345', 1],
      ['started', 'mail', 'SendEmail', 'refresh:crypto:2026-12-05T01:00', 3],
      ['started', 'q', 'J', '0', 10],
      ['started', 'q', 'J', '9', 1234567890123],
      ['started', 'q', 'J', '9', 2.5],
      ['started', 'q', 'J', '9', Number.NaN],
      ['done', 'q', 'J', '9', Number.POSITIVE_INFINITY],
      ['done', 'default', 'FetchCryptoData', '12345', 17],
      ['done', 'default', 'FetchCryptoData', '12345', 0],
      ['done', 'default', 'FetchCryptoData', '12345', undefined],
      ['done', 'default', 'FetchCryptoData', undefined, 3],
      ['started', 'q"1', 'Odd\\Name', 'a/b', 1],
      ['done', 'default', 'Job\n', '7', 5],
      ['done', 'default', 'Ünïcode', '1', 5],
      ['done', 'q', 'J', 'ïd', 5],
    ];
    const stdout = runLogger(`
      const log = eventLogger(new Output({}));
      // JSON has no undefined, NaN or Infinity: they travel as null and as text.
      const value = (v) => (v === null ? undefined : v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v);
      for (const [kind, queue, job, id, n] of ${JSON.stringify(events.map((e) => e.map((v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v))))}) {
        log(kind === 'started' ? new JobStartedEvent(queue, job, value(id), value(n)) : new JobDoneEvent(queue, job, value(id), value(n)));
      }
      // More job names than the line templates are kept for: the rest take the generic path.
      for (let i = 0; i < 1100; i++) log(new JobDoneEvent('q', 'Name' + i, String(i), i));
    `);
    const lines = stdout.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(events.length + 1100);
    lines.splice(events.length).forEach((line, i) => expect(untimed(line)).toBe(reference({ ...new JobDoneEvent('q', `Name${i}`, String(i), i) })));
    lines.forEach((line, i) => {
      const [kind, queue, job, id, n] = events[i]!;
      const e = kind === 'started' ? new JobStartedEvent(queue, job, id, n!) : new JobDoneEvent(queue, job, id, n);
      expect(untimed(line), line).toBe(reference({ ...e }));
      expect(line).toMatch(/^\{"time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z",/);
    });
  });

  it('-q: the per-job lines are dropped, warnings still written', () => {
    const stdout = runLogger(`
      const log = eventLogger(new Output({ quiet: true }));
      log(new JobStartedEvent('q', 'J', '1', 1));
      log({ level: 'warn', event: 'stalled', id: '1' });
      log(new JobDoneEvent('q', 'J', '1', 4));
    `);
    expect(
      stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).event),
    ).toEqual(['stalled']);
  });

  it('every line arrives whole and in order: multi-byte text, a line over 64 KB, and the lines still queued at exit', () => {
    // A real process writing to a pipe, as a worker under supervisord or `up` does (npm test builds dist/).
    const render = pathToFileURL(join(process.cwd(), 'dist/cli/render.js')).href;
    const events = pathToFileURL(join(process.cwd(), 'dist/runtime/events.js')).href;
    const script = `
      const { eventLogger, Output } = await import(${JSON.stringify(render)});
      const { JobStartedEvent } = await import(${JSON.stringify(events)});
      const log = eventLogger(new Output({}));
      for (let i = 0; i < 3000; i++) {
        log(new JobStartedEvent('q', 'Job', String(i), 1));
        if (i === 1000) log({ event: 'note', msg: 'Ünïcødé 日本 🚀', i });
        if (i === 2000) log({ event: 'big', text: 'é'.repeat(100000) + 'x'.repeat(200000) });
      }
      log({ event: 'last' });
    `;
    const stdout = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const lines = stdout.split('\n');
    expect(lines.pop()).toBe('');
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed).toHaveLength(3003);
    expect(parsed.filter((e) => e.event === 'processing').map((e) => Number(e.id))).toEqual(Array.from({ length: 3000 }, (_, i) => i));
    expect(parsed[1001]).toMatchObject({ event: 'note', msg: 'Ünïcødé 日本 🚀', i: 1000 });
    expect(parsed[2002]!.text).toBe('é'.repeat(100000) + 'x'.repeat(200000));
    expect(parsed.at(-1)).toMatchObject({ event: 'last' });
  });
});
