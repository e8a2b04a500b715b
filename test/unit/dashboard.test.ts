import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/resolve.js';
import { actionOf } from '../../src/dashboard/actions.js';
import { dashboardOptions } from '../../src/dashboard/options.js';
import { toTimeSeries } from '../../src/dashboard/overview/charts.js';
import { basicAuth, sameOriginForChanges } from '../../src/dashboard/security.js';
import { perMinute } from '../../src/queue/metrics.js';

const MIN = 60_000;

describe("BullMQ's metrics as jobs per minute", () => {
  const now = 1_000 * MIN + 30_000; // half-way through minute 1000

  it('the list holds the minutes before prevTS (newest first); count - prevCount is the minute of prevTS', () => {
    // Last push in minute 998: data[0] is minute 997, data[1] minute 996; 4 jobs since, in minute 998.
    const meta = ['14', String(998 * MIN + 5_000), '10'];
    expect(perMinute(meta, ['7', '3', '1'], 5, 1000)).toEqual([3, 7, 4, 0, 0]); // minutes 996…1000
  });

  it('no metrics yet: zeros; a worker that pushed this minute: the current minute holds the pending count', () => {
    expect(perMinute([null, null, null], [], 3, 1000)).toEqual([0, 0, 0]);
    expect(perMinute(['5', String(now), '2'], ['9'], 3, 1000)).toEqual([0, 9, 3]);
  });

  it('the day view averages 10-minute buckets per minute', () => {
    const completed = Array.from({ length: 20 }, (_, i) => (i < 10 ? 1 : 3));
    const ts = toTimeSeries({ start: 600, minutes: 20, queues: new Map([['q', { completed, failed: new Array(20).fill(0) }]]) }, 10);
    expect(ts).toEqual({ times: [600, 1200], stepSeconds: 600, series: [{ queue: 'q', completed: [1, 3], failed: [0, 0] }] });
  });
});

describe('the job browser actions the log names', () => {
  it.each([
    ['PUT', '/queues/api/queues/default/42/retry', { action: 'retry', queue: 'default', jobId: '42' }],
    ['PUT', '/queues/api/queues/default/42/clean', { action: 'remove', queue: 'default', jobId: '42' }],
    ['PUT', '/queues/api/queues/default/retry/failed', { action: 'retry-all', queue: 'default', state: 'failed' }],
    ['PUT', '/queues/api/queues/emails/clean/completed', { action: 'clean-all', queue: 'emails', state: 'completed' }],
    ['PUT', '/queues/api/queues/emails/promote', { action: 'promote-all', queue: 'emails' }],
    ['PUT', '/queues/api/queues/emails/pause', { action: 'pause', queue: 'emails' }],
    ['PUT', '/queues/api/queues/pause', { action: 'pause-all-queues' }],
    ['POST', '/queues/api/queues/a%20b/add', { action: 'add', queue: 'a b' }],
  ])('%s %s', (method, path, want) => {
    expect(actionOf(method, path)).toEqual(want);
  });
});

describe('options checked before listening', () => {
  const cfg = (env: Record<string, string> = {}) => resolveConfig({ env, cwd: '/nonexistent' });
  it('loopback needs no credentials; any other host does (exit 2)', () => {
    expect(dashboardOptions(cfg()).host).toBe('127.0.0.1');
    expect(() => dashboardOptions(cfg(), { host: '0.0.0.0' })).toThrow(/would listen on 0\.0\.0\.0 without credentials/);
    expect(() => dashboardOptions(cfg(), { host: '10.0.0.5' })).toThrow(expect.objectContaining({ exitCode: 2 }));
    expect(dashboardOptions(cfg({ DASHBOARD_USER: 'u', DASHBOARD_PASSWORD: 'p' }), { host: '0.0.0.0' }).credentials).toEqual({ user: 'u', password: 'p' });
  });
  it('the base path starts with "/" and loses its trailing slash', () => {
    expect(dashboardOptions(cfg(), { basePath: '/ops/rq/' }).basePath).toBe('/ops/rq');
    expect(dashboardOptions(cfg(), { basePath: '/' }).basePath).toBe('');
    expect(() => dashboardOptions(cfg(), { basePath: 'ops' })).toThrow(/must start with "\/"/);
    expect(() => dashboardOptions(cfg(), { basePath: '/../x' })).toThrow(/not a plain URL path/);
  });
});

describe('security middleware', () => {
  const app = new Hono();
  app.use('*', basicAuth({ user: 'ops', password: 'pw' }));
  app.use('*', sameOriginForChanges());
  app.all('*', (c) => c.text('done'));
  const auth = { authorization: `Basic ${Buffer.from('ops:pw').toString('base64')}` };

  it('basic auth: 401 with a challenge unless both user and password match', async () => {
    const r = await app.request('http://h:1/x');
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toContain('Basic');
    expect((await app.request('http://h:1/x', { headers: { authorization: `Basic ${Buffer.from('ops:pwx').toString('base64')}` } })).status).toBe(401);
    expect((await app.request('http://h:1/x', { headers: { authorization: 'Bearer abc' } })).status).toBe(401);
    expect((await app.request('http://h:1/x', { headers: auth })).status).toBe(200);
  });

  it('a change needs the own origin; reads do not', async () => {
    const put = (headers: Record<string, string>) => app.request('http://h:1/x', { method: 'PUT', headers: { ...auth, host: 'h:1', ...headers } });
    expect((await put({ origin: 'http://h:1' })).status).toBe(200);
    expect((await put({ origin: 'https://h:1', 'x-forwarded-proto': 'https' })).status).toBe(200);
    expect((await put({ origin: 'https://h:1' })).status).toBe(403);
    expect((await put({ origin: 'http://h:2' })).status).toBe(403);
    expect((await put({ referer: 'http://h:1/queues/' })).status).toBe(200);
    expect((await put({})).status).toBe(403);
    expect((await app.request('http://h:1/x', { headers: auth })).status).toBe(200);
  });
});
