import { afterEach, describe, expect, inject, it } from 'vitest';
import { Redis } from 'ioredis';
import { runCli } from '../helpers/cli.js';
import { addJob, eventually, removePrefix, TEST_JOBS, testQueue, uniquePrefix } from '../helpers/queue.js';
import { RedisServer } from '../helpers/redis-server.js';
import { CliProcess } from '../helpers/worker-process.js';

const plain = inject('plainRedisUrl');

/** Everything a test starts, stopped and removed after it. */
const started: CliProcess[] = [];
const prefixes: [string, string][] = [];
const servers: RedisServer[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => p.stop()));
  for (const [url, prefix] of prefixes.splice(0)) await removePrefix(url, prefix);
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

function setup(tag: string, url = plain) {
  const prefix = uniquePrefix(tag);
  prefixes.push([url, prefix]);
  const env = { REDIS_URL: url, QUEUE_PREFIX: prefix, RQCTL_EXTRA_JOBS: TEST_JOBS };
  const worker = (...args: string[]) => {
    const p = new CliProcess(['worker', '--sleep', '1', ...args], env);
    started.push(p);
    return p;
  };
  const add = (queue: string, name: string, data: unknown, opts = {}) => addJob(url, prefix, queue, name, data, opts);
  const job = async (queue: string, id: string) => {
    const q = testQueue(url, prefix, queue);
    try {
      const j = await q.getJob(id);
      return { state: await j!.getState(), failedReason: j!.failedReason, attemptsMade: j!.attemptsMade, returnvalue: j!.returnvalue };
    } finally {
      await q.close();
    }
  };
  return { prefix, env, worker, add, job };
}

describe('rqctl worker: stopping', () => {
  it('an idle worker stops on SIGTERM with exit 0 and leaves the registry', async () => {
    const t = setup('idle');
    const w = t.worker('--queue', 'q1', '--name', 'idle-one');
    await w.waitFor((e) => e.event === 'started');
    const listed = await runCli(['workers', '--json'], { env: t.env });
    expect(listed.exitCode).toBe(0);
    expect(listed.json.workers.map((x: any) => x.name)).toEqual(['idle-one']);
    w.signal('SIGTERM');
    const r = await w.exit(10_000);
    expect(r.code).toBe(0);
    expect(w.eventsNamed('stopped')[0]).toMatchObject({ reason: 'signal', exitCode: 0 });
    const after = await runCli(['workers', '--json'], { env: t.env });
    expect(after.json.workers).toEqual([]);
  });

  it('SIGTERM mid-job finishes the running job, takes no other, exits 0', async () => {
    const t = setup('term');
    const slow = await t.add('q1', 'TestSlow', { ms: 1500, mark: `${t.prefix}:mark` });
    const next = await t.add('q1', 'TestNoop', { n: 2 });
    const w = t.worker('--queue', 'q1');
    await w.waitFor((e) => e.event === 'slow-started');
    w.signal('SIGTERM');
    const r = await w.exit();
    expect(r.code).toBe(0);
    expect(await t.job('q1', slow)).toMatchObject({ state: 'completed', returnvalue: { slept: 1500 } });
    expect((await t.job('q1', next)).state).toBe('waiting');
    const processed = w.eventsNamed('processed');
    expect(processed.map((e) => e.id)).toEqual([slow]);
    expect(processed[0].durationMs).toBeGreaterThanOrEqual(1400);
  });

  it('a second signal exits 130 at once', async () => {
    const t = setup('twice');
    await t.add('q1', 'TestSlow', { ms: 30_000 });
    const w = t.worker('--queue', 'q1');
    await w.waitFor((e) => e.event === 'slow-started');
    w.signal('SIGINT');
    await w.waitFor((e) => e.event === 'stopping');
    w.signal('SIGINT');
    const r = await w.exit(5000);
    expect(r.code).toBe(130);
  });

  it('--max-jobs N runs exactly N jobs (concurrency 2), then exits 0', async () => {
    const t = setup('maxjobs');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await t.add('q1', 'TestSlow', { ms: 200 }));
    const w = t.worker('--queue', 'q1', '--max-jobs', '3', '--concurrency', '2');
    const r = await w.exit();
    expect(r.code).toBe(0);
    expect(w.eventsNamed('stopped')[0]).toMatchObject({ reason: 'max-jobs' });
    const states = await Promise.all(ids.map(async (id) => (await t.job('q1', id)).state));
    expect(states.filter((s) => s === 'completed')).toHaveLength(3);
    expect(states.filter((s) => s === 'waiting')).toHaveLength(2);
  });

  it('--max-time and --memory stop the worker with exit 0', async () => {
    const t = setup('limits');
    const timed = t.worker('--queue', 'q1', '--max-time', '1');
    expect((await timed.exit()).code).toBe(0);
    expect(timed.eventsNamed('stopped')[0]).toMatchObject({ reason: 'max-time', exitCode: 0 });
    // 1 MB of RSS: exceeded by any Node process, so it stops at its first check.
    const small = t.worker('--queue', 'q1', '--memory', '1');
    expect((await small.exit()).code).toBe(0);
    expect(small.eventsNamed('stopped')[0]).toMatchObject({ reason: 'memory', exitCode: 0 });
    expect(small.eventsNamed('stopped')[0].msg).toMatch(/exceeds --memory 1 MB/);
  });

  it('--stop-when-empty exits 0 once the queues are drained', async () => {
    const t = setup('empty');
    const a = await t.add('q1', 'TestNoop', { n: 1 });
    const b = await t.add('q2', 'TestNoop', { n: 2 });
    const w = t.worker('--queue', 'q1,q2', '--stop-when-empty');
    const r = await w.exit();
    expect(r.code).toBe(0);
    expect((await t.job('q1', a)).state).toBe('completed');
    expect((await t.job('q2', b)).state).toBe('completed');
  });

  it('`rqctl worker restart`: workers started before it finish and exit 0; one started after keeps running', async () => {
    const t = setup('restart');
    const slow = await t.add('q1', 'TestSlow', { ms: 1500 });
    const a = t.worker('--queue', 'q1', '--name', 'a');
    const b = t.worker('--queue', 'q2', '--name', 'b');
    await a.waitFor((e) => e.event === 'slow-started');
    await b.waitFor((e) => e.event === 'started');
    const r = await runCli(['worker', 'restart', '--json'], { env: t.env });
    expect(r.exitCode).toBe(0);
    expect(r.json.workers).toBe(2);
    expect(Date.parse(r.json.restartAt)).toBeGreaterThan(0);
    const c = t.worker('--queue', 'q2', '--name', 'c');
    await c.waitFor((e) => e.event === 'started');
    expect((await a.exit()).code).toBe(0);
    expect((await b.exit()).code).toBe(0);
    expect(a.eventsNamed('stopped')[0]).toMatchObject({ reason: 'restart' });
    expect(await t.job('q1', slow)).toMatchObject({ state: 'completed' });
    // c read the restart mark when it started: it is not asked to restart.
    await new Promise((res) => setTimeout(res, 2500));
    expect(c.child.exitCode).toBeNull();
    const listed = await runCli(['workers', '--json'], { env: t.env });
    expect(listed.json.workers.map((x: any) => x.name)).toEqual(['c']);
  });
});

describe('rqctl worker: jobs', () => {
  it('logs processing and processed/failed per job with its duration (JSON lines off a TTY)', async () => {
    const t = setup('log');
    const ok = await t.add('q1', 'TestNoop', { n: 7 });
    const w = t.worker('--queue', 'q1');
    const done = await w.waitFor((e) => e.event === 'processed');
    const processing = w.eventsNamed('processing')[0];
    expect(processing).toMatchObject({ level: 'info', queue: 'q1', job: 'TestNoop', id: ok, attempt: 1 });
    expect(done).toMatchObject({ queue: 'q1', job: 'TestNoop', id: ok });
    expect(typeof done.durationMs).toBe('number');
    expect(typeof done.time).toBe('string');
    expect(await t.job('q1', ok)).toMatchObject({ state: 'completed', returnvalue: { ok: true, n: 7 } });
  });

  it('a payload that fails the schema fails at once without retries, and the worker goes on', async () => {
    const t = setup('invalid');
    const bad = await t.add('q1', 'TestNoop', { n: 'not a number' }, { attempts: 3, backoff: 0 });
    const unknown = await t.add('q1', 'NoSuchJob', {}, { attempts: 3 });
    const good = await t.add('q1', 'TestNoop', { n: 1 });
    const w = t.worker('--queue', 'q1');
    await w.waitFor((e) => e.event === 'processed' && e.id === good);
    const badJob = await t.job('q1', bad);
    expect(badJob.state).toBe('failed');
    expect(badJob.attemptsMade).toBe(1);
    expect(badJob.failedReason).toMatch(/^invalid payload for TestNoop: n: /);
    const unknownJob = await t.job('q1', unknown);
    expect(unknownJob).toMatchObject({ state: 'failed', attemptsMade: 1 });
    expect(unknownJob.failedReason).toMatch(/unknown job "NoSuchJob"/);
    expect(w.child.exitCode).toBeNull();
    expect(w.eventsNamed('failed').find((e) => e.id === bad)).toMatchObject({ level: 'error', retry: false });
    w.signal('SIGTERM');
    expect((await w.exit()).code).toBe(0);
  });

  it("--tries and --backoff apply to jobs that set none; a job's own attempts win", async () => {
    const t = setup('tries');
    const unset = await t.add('q1', 'TestFlaky', {});
    const own = await t.add('q1', 'TestFlaky', {}, { attempts: 1 });
    const w = t.worker('--queue', 'q1', '--tries', '3', '--backoff', '0');
    await eventually(async () => (await t.job('q1', unset)).state === 'failed' && (await t.job('q1', own)).state === 'failed', 20_000, 'both jobs failed');
    expect((await t.job('q1', unset)).attemptsMade).toBe(3);
    expect((await t.job('q1', own)).attemptsMade).toBe(1);
    const failedLines = w.eventsNamed('failed').filter((e) => e.id === unset);
    expect(failedLines.map((e) => e.retry)).toEqual([true, true, false]);
  });

  it('--timeout: a job that honours its signal fails with "timed out after S s"; the worker goes on', async () => {
    const t = setup('timeout');
    const slow = await t.add('q1', 'TestSlow', { ms: 30_000 }, { attempts: 1 });
    const after = await t.add('q1', 'TestNoop', {});
    const w = t.worker('--queue', 'q1', '--timeout', '1');
    await w.waitFor((e) => e.event === 'processed' && e.id === after);
    expect(await t.job('q1', slow)).toMatchObject({ state: 'failed', failedReason: 'timed out after 1 s' });
    expect(w.child.exitCode).toBeNull();
  });

  it('--timeout: a job that ignores its signal makes the process exit non-zero after the grace period; nothing else is taken', async () => {
    const t = setup('stubborn');
    const stubborn = await t.add('q1', 'TestStubborn', { ms: 60_000 });
    const next = await t.add('q1', 'TestNoop', {});
    const w = t.worker('--queue', 'q1', '--timeout', '1', '--grace', '1');
    const r = await w.exit(20_000);
    expect(r.code).toBe(1);
    expect(w.eventsNamed('stuck')[0]).toMatchObject({ level: 'error', id: stubborn });
    expect(w.eventsNamed('stopped')[0]).toMatchObject({ reason: 'stuck-job', exitCode: 1 });
    // Still active: its lock expires and BullMQ's stall check puts it back (docs/worker.md).
    expect((await t.job('q1', stubborn)).state).toBe('active');
    expect((await t.job('q1', next)).state).toBe('waiting');
  });

  it('--concurrency N is the limit across all queues of the process', async () => {
    const t = setup('conc');
    const gauge = `${t.prefix}:gauge`;
    for (let i = 0; i < 3; i++) await t.add('q1', 'TestSlow', { ms: 700, gauge });
    for (let i = 0; i < 3; i++) await t.add('q2', 'TestSlow', { ms: 700, gauge });
    const w = t.worker('--queue', 'q1,q2', '--concurrency', '2', '--stop-when-empty');
    expect((await w.exit()).code).toBe(0);
    expect(w.eventsNamed('processed')).toHaveLength(6);
    const c = new Redis(plain);
    try {
      // Measured inside the jobs: never more than 2 at once, and 2 were reached.
      expect(await c.get(`${gauge}:peak`)).toBe('2');
    } finally {
      c.disconnect();
    }
  });
});

describe('rqctl worker: Redis restarts and dropped connections', () => {
  it('resumes taking jobs after its redis-server is killed and restarted (same port, AOF), and after CLIENT KILL', async () => {
    const server = await RedisServer.start({ args: ['--appendonly', 'yes', '--maxmemory-policy', 'noeviction'] });
    servers.push(server);
    const t = setup('redis-restart', server.url());
    const w = t.worker('--queue', 'q1');
    const first = await t.add('q1', 'TestNoop', { n: 1 });
    await w.waitFor((e) => e.event === 'processed' && e.id === first);

    await server.kill();
    await w.waitFor((e) => e.event === 'redis-down', 10_000, 'redis-down');
    await new Promise((r) => setTimeout(r, 1000));
    await server.launch();
    const second = await t.add('q1', 'TestNoop', { n: 2 });
    await w.waitFor((e) => e.event === 'processed' && e.id === second, 45_000, 'the job dispatched after the restart');

    const admin = server.client();
    try {
      const killed = Number(await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes'));
      expect(killed).toBeGreaterThan(0);
    } finally {
      admin.disconnect();
    }
    const third = await t.add('q1', 'TestNoop', { n: 3 });
    await w.waitFor((e) => e.event === 'processed' && e.id === third, 45_000, 'the job dispatched after CLIENT KILL');
    expect(w.child.exitCode).toBeNull();
    w.signal('SIGTERM');
    expect((await w.exit()).code).toBe(0);
  });
});

describe('rqctl workers / doctor', () => {
  it('lists live workers with name, host, pid, queues, concurrency, started, jobs done', async () => {
    const t = setup('list');
    const w = t.worker('--queue', 'q1,q2', '--concurrency', '4', '--name', 'lister');
    await t.add('q1', 'TestNoop', {});
    await t.add('q2', 'TestNoop', {});
    await eventually(async () => w.eventsNamed('processed').length === 2, 15_000, 'two jobs');
    const listed = await eventually(
      async () => {
        const r = await runCli(['workers', '--json'], { env: t.env });
        return r.json?.workers?.[0]?.jobsDone === 2 ? r : undefined;
      },
      10_000,
      'jobsDone 2 in the registry',
    );
    const rec = listed.json.workers[0];
    expect(rec).toMatchObject({ name: 'lister', pid: w.pid, queues: ['q1', 'q2'], concurrency: 4, jobsDone: 2 });
    expect(typeof rec.host).toBe('string');
    expect(Date.parse(rec.started)).toBeGreaterThan(Date.now() - 60_000);
    const human = await runCli(['workers'], { env: t.env });
    expect(human.stdout).toMatch(/lister\s+\S+\s+\d+\s+q1,q2\s+4/);
  });

  it('doctor warns when a queue has waiting jobs but no worker, and is ok once one runs', async () => {
    const t = setup('doctor');
    await t.add('lonely', 'TestSlow', { ms: 100 });
    const before = await runCli(['doctor', '--json'], { env: t.env });
    const check = before.json.checks.find((c: any) => c.id === 'workers.lonely');
    expect(check).toMatchObject({ status: 'warn' });
    expect(check.message).toBe('queue lonely has 1 waiting job but no worker');
    expect(check.fix).toContain('rqctl worker --queue lonely');
    const w = t.worker('--queue', 'lonely,other');
    await w.waitFor((e) => e.event === 'processed');
    const after = await runCli(['doctor', '--json'], { env: t.env });
    expect(after.json.checks.find((c: any) => c.id === 'workers.lonely')).toMatchObject({ status: 'ok' });
  });
});

describe('rqctl worker: usage', () => {
  it('bad flags and unloadable job modules exit 2 before connecting', async () => {
    const env = { REDIS_URL: 'redis://127.0.0.1:1/0' };
    expect((await runCli(['worker', '--concurrency', '0'], { env })).exitCode).toBe(2);
    expect((await runCli(['worker', '--timeout', 'soon'], { env })).exitCode).toBe(2);
    const missing = await runCli(['worker'], { env: { ...env, RQCTL_EXTRA_JOBS: './nope.mjs' } });
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/cannot load job module "\.\/nope\.mjs"/);
  });

  it('an unreachable Redis exits 3 with one line', async () => {
    const r = await runCli(['worker'], { env: { REDIS_URL: 'redis://127.0.0.1:1/0' } });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/refused the connection/);
  });
});
