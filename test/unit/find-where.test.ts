import { describe, expect, it } from 'vitest';
import { compileWhere, parseWhere } from '../../src/queue/find/where.js';
import { checkActionStates, compileFind, defaultStates } from '../../src/queue/find/filter.js';
import { parseStates } from '../../src/queue/walk/states.js';
import { StoredJob } from '../../src/queue/walk/job-hash.js';

const where = (...conds: string[]) => compileWhere(conds.map(parseWhere))!;

/** What an operator types after --where, and which payloads it picks. */
describe('--where', () => {
  const quote = { method: 'getStockQuote', params: { symbol: 'AAPL', page: 2, tickers: false } };
  const mail = { template: 'new-inquiry', to: ['bob@example.com', 'Alice@Example.org'], data: { email: 'carol@example.net', name: 'Carol' } };

  it('PATH=VALUE is text equality on a dotted path into the data', () => {
    expect(where('params.symbol=AAPL')(quote)).toBe(true);
    expect(where('params.symbol=aapl')(quote)).toBe(false);
    expect(where('params.symbol=AAP')(quote)).toBe(false);
    expect(where('method=getStockQuote')(quote)).toBe(true);
    expect(where('params.nope=AAPL')(quote)).toBe(false);
    expect(where('data.email=carol@example.net')(mail)).toBe(true);
  });

  it('numbers compare as numbers when both sides are numbers; booleans and null as their words', () => {
    expect(where('params.page=2')(quote)).toBe(true);
    expect(where('params.page=2.0')(quote)).toBe(true);
    expect(where('params.page=02')(quote)).toBe(true);
    expect(where('params.page=3')(quote)).toBe(false);
    expect(where('params.page=2')({ params: { page: '2' } })).toBe(true);
    expect(where('params.page=2.0')({ params: { page: '2' } })).toBe(true);
    expect(where('params.page=two')({ params: { page: 2 } })).toBe(false);
    expect(where('params.tickers=false')(quote)).toBe(true);
    expect(where('params.x=null')({ params: { x: null } })).toBe(true);
  });

  it('an array holds when any element does; a name on an array looks into each element; a number picks one', () => {
    expect(where('to=bob@example.com')(mail)).toBe(true);
    expect(where('to.1=Alice@Example.org')(mail)).toBe(true);
    expect(where('to.0=Alice@Example.org')(mail)).toBe(false);
    expect(where('items.sku=B2')({ items: [{ sku: 'A1' }, { sku: 'B2' }] })).toBe(true);
  });

  it('PATH~REGEX is a case-insensitive search, objects as their JSON', () => {
    expect(where('to~alice@example\\.org$')(mail)).toBe(true);
    expect(where('params.symbol~^aa')(quote)).toBe(true);
    expect(where('params~"symbol":"AAPL"')(quote)).toBe(true);
    expect(where('params.page~^2$')(quote)).toBe(true);
    expect(where('to~@example\\.net$')(mail)).toBe(false);
  });

  it('several --where all hold; the value may contain = and ~', () => {
    expect(where('params.symbol=AAPL', 'params.page=2')(quote)).toBe(true);
    expect(where('params.symbol=AAPL', 'params.page=3')(quote)).toBe(false);
    expect(where('q=a=b~c')({ q: 'a=b~c' })).toBe(true);
    expect(where('q~a=b')({ q: 'xa=by' })).toBe(true);
  });

  it('never reads inherited properties', () => {
    expect(where('constructor~Object')({})).toBe(false);
    expect(where('__proto__~Object')({})).toBe(false);
    expect(where('params.toString~function')(quote)).toBe(false);
  });

  it('bad input is exit 2 with a clear message', () => {
    for (const [text, message] of [
      ['params.symbol', /PATH=VALUE or PATH~REGEX/],
      ['=AAPL', /no path/],
      ['params..symbol=AAPL', /empty segment/],
      ['.symbol=AAPL', /empty segment/],
      ['params.=AAPL', /empty segment/],
      ['to~(unclosed', /not a valid regular expression/],
    ] as const) {
      expect(() => parseWhere(text)).toThrow(message);
      try {
        parseWhere(text);
      } catch (e) {
        expect((e as { exitCode: number }).exitCode).toBe(2);
      }
    }
  });
});

describe('--state and the actions', () => {
  it('states by name, each once, aliases for the wait list; unknown ones are exit 2', () => {
    expect(parseStates('delayed,failed,failed')).toEqual(['failed', 'delayed']);
    expect(parseStates('wait')).toEqual(['waiting']);
    expect(() => parseStates('failed,stuck')).toThrow(/unknown state stuck/);
    expect(() => parseStates(' , ')).toThrow(/--state is empty/);
  });

  it('default states: all but active; with an action, the states it applies to (failed only for --retry)', () => {
    expect(defaultStates()).not.toContain('active');
    expect(defaultStates()).toEqual(expect.arrayContaining(['failed', 'completed', 'waiting', 'delayed', 'prioritized']));
    expect(defaultStates('retry')).toEqual(['failed']);
    expect(defaultStates('promote')).toEqual(['delayed']);
    expect(defaultStates('remove')).not.toContain('active');
  });

  it('an action with a state it does not apply to is exit 2', () => {
    expect(() => checkActionStates('retry', ['failed', 'waiting'])).toThrow(/--retry does not apply to waiting jobs/);
    expect(() => checkActionStates('promote', ['failed'])).toThrow(/--promote does not apply to failed jobs/);
    expect(() => checkActionStates('remove', ['active'])).toThrow(/locked by its worker/);
    expect(() => checkActionStates('retry', ['completed'])).not.toThrow();
    expect(() => checkActionStates('export', ['active'])).not.toThrow();
  });

  it('--since/--until bound the finish time of finished jobs and the added time of the others', () => {
    const job = (fields: Record<string, string>) =>
      new StoredJob('default', '1', { name: 'FetchStockData', data: '{}', timestamp: '1000', ...fields }, null, null);
    const f = compileFind({ states: ['failed', 'waiting'], since: 1500, until: 2500 });
    const matches = (j: StoredJob, state: 'failed' | 'waiting') => f.judge(j, state)?.ok === true;
    expect(matches(job({ finishedOn: '2000' }), 'failed')).toBe(true);
    expect(matches(job({ finishedOn: '3000' }), 'failed')).toBe(false);
    expect(matches(job({ timestamp: '2000' }), 'waiting')).toBe(true);
    expect(matches(job({ timestamp: '1000', finishedOn: '2000' }), 'waiting')).toBe(false);
    expect(() => compileFind({ states: ['failed'], since: 3000, until: 2000 })).toThrow(/later than --until/);
  });

  it('a job that cannot be loaded is reported when what can be read of it does not rule it out', () => {
    const f = compileFind({ states: ['completed'], name: 'FetchStockData', where: [parseWhere('params.symbol=AAPL')] });
    const job = (fields: Record<string, string>) => new StoredJob('default', '7', { name: 'FetchStockData', timestamp: '1', ...fields }, null, null);
    expect(f.judge(job({ data: '{"params":' }), 'completed')).toMatchObject({
      ok: false,
      corrupt: { error: expect.stringMatching(/^data is not valid JSON/) },
    });
    expect(f.judge(job({ data: '{"params":{"symbol":"AAPL"}}', opts: '{bad' }), 'completed')).toMatchObject({
      ok: false,
      corrupt: { error: expect.stringMatching(/^opts/) },
    });
    expect(f.judge(job({ data: '{"params":{"symbol":"MSFT"}}', opts: '{bad' }), 'completed')).toBeNull();
    expect(f.judge(new StoredJob('default', '8', {}, null, null), 'completed')).toMatchObject({
      ok: false,
      corrupt: { error: 'the job hash is missing (a stale id)' },
    });
    const recent = compileFind({ states: ['completed'], since: 5000, where: [parseWhere('params.symbol=AAPL')] });
    expect(recent.judge(job({ data: '{bad', finishedOn: '100' }), 'completed')).toBeNull();
  });
});
