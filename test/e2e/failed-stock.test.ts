import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Queue } from 'bullmq';
import '../../src/jobs/index.js';
import { dispatch, prepareDispatch } from '../../src/jobs/dispatch.js';
import { queueConnection } from '../../src/queue/queues.js';
import { runCli } from '../helpers/cli.js';
import { jobEnv, type JobEnv } from '../helpers/job-env.js';
import { startJobWorker } from '../helpers/job-worker.js';
import { ProviderServer } from '../helpers/provider-server.js';

const redisUrl = inject('plainRedisUrl');
const SYMBOLS = Array.from({ length: 20 }, (_, i) => `SYM${i}`);

/**
 * The "done when" with the bundled FetchStockData job: 20 getStockQuote jobs fail for real
 * against a local Finnhub answering 500; the operator finds them, reads why, retries them when the
 * provider recovers, and they complete (the quote lands in the cache).
 */
describe('20 failed getStockQuote jobs', () => {
  let server: ProviderServer;
  let env: JobEnv;
  let queue: Queue;
  const cli = (...args: string[]) => runCli(args, { env: env.env, cwd: env.cwd });

  beforeAll(async () => {
    server = await ProviderServer.start();
    server.always('finnhub', '/quote', { status: 500, body: '{"error":"Internal Server Error"}' });
    env = await jobEnv(redisUrl, { label: 'failed', env: { FINNHUB_BASE_URL: server.finnhubUrl, FINNHUB_API_KEY: 'fh-key' } });
    queue = new Queue('default', { connection: queueConnection(env.config, 'worker'), prefix: env.config.queue.prefix });
    for (const symbol of SYMBOLS) {
      await dispatch(
        env.config,
        prepareDispatch(env.config, { job: 'FetchStockData', method: 'getStockQuote', params: { symbol }, tries: 2, backoffSeconds: 1 }),
      );
    }
    const worker = await startJobWorker(env.config, ['default'], { concurrency: 10 });
    try {
      const deadline = Date.now() + 40_000;
      while ((await queue.getFailedCount()) < 20 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    } finally {
      await worker.close();
    }
  });

  afterAll(async () => {
    await queue?.close();
    await server?.close();
    await env?.cleanup();
  });

  it('failed list --json: total 20, filterable by --name and --error; show prints the reason', async () => {
    const all = await cli('failed', 'list', '--json');
    expect(all.exitCode).toBe(0);
    expect(all.json.total).toBe(20);
    expect(all.json.jobs.every((j: any) => j.name === 'FetchStockData' && j.attemptsMade === 2)).toBe(true);
    expect((await cli('failed', 'list', '--json', '--name', 'FetchStockData:getStockQuote')).json.total).toBe(20);
    expect((await cli('failed', 'list', '--json', '--name', 'getStockProfile')).json.total).toBe(0);
    expect((await cli('failed', 'list', '--json', '--error', 'HTTP 500')).json.total).toBe(20);
    expect((await cli('failed', 'list', '--json', '--error', 'HTTP 4\\d\\d')).json.total).toBe(0);

    const reason = all.json.jobs[0].failedReason;
    expect(reason).toMatch(/500/);
    const show = await cli('failed', 'show', all.json.jobs[0].id);
    expect(show.exitCode).toBe(0);
    expect(show.stdout).toContain(reason);
    expect(show.stdout).toMatch(/"symbol": "SYM\d+"/);
  });

  it('with one job hash corrupted, listing still exits 0 and reports it', async () => {
    const [victim] = await env.queueDb.zrange(`${env.config.queue.prefix}:default:failed`, '0', '0');
    await env.queueDb.hset(`${env.config.queue.prefix}:default:${victim}`, 'data', '{not json');
    const r = await cli('failed', 'list', '--json');
    expect(r.exitCode).toBe(0);
    expect(r.json.total).toBe(19);
    expect(r.json.corrupt).toEqual([{ id: victim, queue: 'default', name: 'FetchStockData', error: expect.stringMatching(/^data is not valid JSON/) }]);
    // Out of the way for the retry below: a corrupt job never completes.
    const forget = await cli('failed', 'forget', victim, '--yes', '--json');
    expect(forget.json).toEqual({ removed: 1 });
  });

  it('failed retry all --json retries them; they complete once the provider recovers', async () => {
    server.reset();
    const r = await cli('failed', 'retry', 'all', '--json');
    expect(r.exitCode).toBe(0);
    expect(r.json.retried).toBe(19);
    expect(await queue.getFailedCount()).toBe(0);
    const worker = await startJobWorker(env.config, ['default'], { concurrency: 10 });
    try {
      const deadline = Date.now() + 30_000;
      while ((await queue.getCompletedCount()) < 19 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    } finally {
      await worker.close();
    }
    expect(await queue.getCompletedCount()).toBe(19);
    expect(await queue.getFailedCount()).toBe(0);
    expect(server.requestsTo('finnhub', '/quote')).toHaveLength(19);
    const status = await cli('queue', 'status', '--queue', 'default', '--json');
    expect(status.json.queues[0]).toMatchObject({ name: 'default', waiting: 0, failed: 0, completed: 19 });
  });
});
