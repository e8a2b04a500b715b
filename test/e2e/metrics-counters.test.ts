import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { parseExposition, sampleValue } from '../helpers/prometheus.js';
import { eventually, removePrefix, TEST_JOBS, testQueue, uniquePrefix } from '../helpers/queue.js';
import { CliProcess } from '../helpers/worker-process.js';

const plain = inject('plainRedisUrl');

const started: CliProcess[] = [];
const prefixes: string[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => p.stop()));
  for (const prefix of prefixes.splice(0)) await removePrefix(plain, prefix);
});

describe('worker counters in Redis', () => {
  it('equal the jobs processed by three workers, one of them restarted mid-run', async () => {
    const prefix = uniquePrefix('cnt');
    prefixes.push(prefix);
    const env = { REDIS_URL: plain, QUEUE_PREFIX: prefix, RQCTL_EXTRA_JOBS: TEST_JOBS };
    const N = 240;
    const q = testQueue(plain, prefix, 'work');
    await q.addBulk(Array.from({ length: N }, (_, i) => ({ name: 'TestSlow', data: { ms: 120 + (i % 5) } })));
    const worker = (name: string) => {
      const p = new CliProcess(['worker', '--queue', 'work', '--concurrency', '2', '--sleep', '1', '--name', name], env);
      started.push(p);
      return p;
    };
    const first = [worker('w1'), worker('w2'), worker('w3')];
    await eventually(async () => first.every((p) => p.eventsNamed('processed').length > 0), 30_000, 'every worker to finish a job');
    // A graceful restart mid-run: the worker finishes its jobs, flushes its counters and exits 0.
    first[0].signal('SIGTERM');
    expect((await first[0].exit()).code).toBe(0);
    const restarted = worker('w1-again');
    await eventually(async () => restarted.eventsNamed('processed').length > 0, 30_000, 'the restarted worker to finish a job');
    await eventually(async () => (await q.getJobCounts('completed')).completed === N, 60_000, 'every job completed');
    const all = [...first, restarted];
    await Promise.all(all.slice(1).map((p) => p.stop()));
    // A child's 'exit' can come before the last of its output: read up to its `stopped` line.
    await Promise.all(all.map((p) => p.waitFor((e) => e.event === 'stopped', 10_000, 'stopped')));
    const processed = all.reduce((sum, p) => sum + p.eventsNamed('processed').length, 0);
    expect(processed, 'processed events').toBe(N);
    expect(first[0].eventsNamed('processed').length).toBeGreaterThan(0);
    expect(restarted.eventsNamed('processed').length).toBeGreaterThan(0);
    await q.close();

    const once = await runCli(['metrics', '--once'], { env });
    expect(once.exitCode, once.stderr).toBe(0);
    const m = parseExposition(once.stdout);
    expect(sampleValue(m, 'rqctl_jobs_completed_total', { queue: 'work', name: 'TestSlow' }), 'completed counter').toBe(N);
    expect(sampleValue(m, 'rqctl_jobs_failed_total', { queue: 'work', name: 'TestSlow' })).toBe(0);
    const runs = m.get('rqctl_job_duration_seconds')!.metrics.find((s) => s.labels!.queue === 'work' && s.labels!.name === 'TestSlow')!;
    expect(Number(runs.count)).toBe(N);
    // Every job slept at least 120 ms: none in the buckets up to 0.1 s (how much longer it took depends on the machine).
    expect(Number(runs.buckets!['0.1'])).toBe(0);
    expect(Number(runs.buckets!['+Inf'])).toBe(N);
    expect(Number(runs.sum)).toBeGreaterThanOrEqual((N * 120) / 1000);
  });
});

describe('doctor: a worker whose counters stopped moving', () => {
  it('is reported when its queue has had jobs ready for a while and it has free slots', async () => {
    const prefix = uniquePrefix('stuck');
    prefixes.push(prefix);
    const env = { REDIS_URL: plain, QUEUE_PREFIX: prefix };
    const q = testQueue(plain, prefix, 'q1');
    const job = await q.add('TestNoop', {});
    await q.close();
    const r = new Redis(plain);
    try {
      const now = Date.now();
      // A job ready for 10 minutes, and a live heartbeat (as `rqctl worker` writes it) of a worker that finished nothing for 10 minutes.
      await r.hset(`${prefix}:q1:${job.id}`, 'timestamp', String(now - 600_000));
      const record = {
        id: 'h:1:abc',
        name: 'stuck-one',
        host: 'h',
        pid: 1,
        queues: ['q1'],
        concurrency: 2,
        started: new Date(now - 3_600_000).toISOString(),
        jobsDone: 7,
        jobsFailed: 0,
        running: 0,
        lastSeen: new Date(now).toISOString(),
        progressAt: new Date(now - 600_000).toISOString(),
      };
      await r.set(`${prefix}:rqctl:workers:${record.id}`, JSON.stringify(record), 'EX', 30);
      await r.zadd(`${prefix}:rqctl:workers`, now, record.id);
      const d = await runCli(['doctor', '--json'], { env });
      const check = d.json.checks.find((c: any) => c.id === 'worker-progress.stuck-one');
      expect(check).toMatchObject({ status: 'warn' });
      expect(check.message).toMatch(/worker stuck-one \(pid 1 on h\) has finished no job for 10m \d+s while queue q1 has 1 ready \(oldest 10m/);
      expect(check.fix).toMatch(/rqctl worker restart/);
      // Busy on every slot (long jobs) is not stuck.
      await r.set(`${prefix}:rqctl:workers:${record.id}`, JSON.stringify({ ...record, running: 2 }), 'EX', 30);
      const busy = await runCli(['doctor', '--json'], { env });
      expect(busy.json.checks.find((c: any) => c.id.startsWith('worker-progress'))).toMatchObject({ id: 'worker-progress', status: 'ok' });
    } finally {
      r.disconnect();
    }
  });
});
