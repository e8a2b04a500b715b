import { LockManager, Queue, Worker, type Job } from 'bullmq';
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import { queueConnection } from '../../src/queue/queues.js';
import { keepBullmqLocksInDictionary, TrackedJobs } from '../../src/runtime/worker/tracked-jobs.js';
import { jobEnv, type JobEnv } from '../helpers/job-env.js';

// The worker keeps BullMQ's lock-renewal table in a dictionary instead of a Map (tracked-jobs.ts: a
// Map changed per job costs garbage collection). These run BullMQ's own Worker and LockManager
// against a real Redis with the dictionary in place: locks renewed, jobs cancelled, nothing left.

const plain = inject('plainRedisUrl');
const envs: JobEnv[] = [];
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  for (const e of envs.splice(0)) await e.cleanup();
});

/** The worker's own lock manager (private in BullMQ's types). */
const lockManagerOf = (w: Worker) => (w as unknown as { lockManager: LockManager & { trackedJobs: unknown } }).lockManager;

async function setup(processor: (job: Job, token?: string, signal?: AbortSignal) => Promise<unknown>) {
  const env = await jobEnv(plain, { label: 'locks' });
  envs.push(env);
  const opts = { connection: queueConnection(env.config, 'worker'), prefix: env.config.queue.prefix };
  const queue = new Queue('locks', opts);
  closers.push(() => queue.close());
  // Locks of 1 s, renewed every 0.5 s: a job of 1.8 s outlives its first lock three times over.
  const worker = new Worker('locks', processor, { ...opts, concurrency: 2, lockDuration: 1000, stalledInterval: 1000, drainDelay: 1 });
  worker.on('error', () => {});
  closers.push(() => worker.close());
  await worker.waitUntilReady();
  return { env, queue, worker };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("BullMQ's tracked jobs in a dictionary", () => {
  it('the installed BullMQ keeps them in a Map (if this fails, BullMQ changed and the dictionary is no longer used: see tracked-jobs.ts)', () => {
    const m = new LockManager({} as never, { lockRenewTime: 0, lockDuration: 1000, workerId: 'w', workerName: 'w' } as never);
    expect((m as unknown as { trackedJobs: unknown }).trackedJobs).toBeInstanceOf(Map);
  });

  it('a job running past its first lock keeps it (renewed), completes once, and leaves nothing tracked', async () => {
    expect(keepBullmqLocksInDictionary()).toBe(true);
    const seen: { tracked: unknown; count: number; ttlLate: number }[] = [];
    let stalled = 0;
    const { env, queue, worker } = await setup(async (job) => {
      await sleep(1300);
      const lm = lockManagerOf(worker);
      seen.push({ tracked: lm.trackedJobs, count: lm.getActiveJobCount(), ttlLate: await env.queueDb.pttl(`${env.config.queue.prefix}:locks:${job.id}:lock`) });
      await sleep(500);
      return 'ok';
    });
    worker.on('stalled', () => stalled++);
    // Either outcome ends the wait: a lock that was not renewed fails the job when it finishes.
    const done = new Promise<void>((resolve) => {
      worker.on('completed', () => resolve());
      worker.on('failed', () => resolve());
    });
    const job = await queue.add('Long', { n: 1 });
    await done;

    expect(seen).toHaveLength(1);
    expect(seen[0]!.tracked).toBeInstanceOf(TrackedJobs);
    expect(seen[0]!.count).toBe(1);
    // 1.3 s after the start of a 1 s lock: still held, so it was renewed.
    expect(seen[0]!.ttlLate).toBeGreaterThan(0);
    expect(stalled).toBe(0);
    expect(await queue.getJobState(job.id!)).toBe('completed');
    // Started once, never moved back as stalled.
    expect((await queue.getJob(job.id!))!).toMatchObject({ attemptsStarted: 1, stalledCounter: 0 });
    // BullMQ stops tracking a job just after its `completed` event.
    await vi.waitFor(() => expect(lockManagerOf(worker).getActiveJobCount()).toBe(0), { timeout: 2000 });
    expect(await env.queueDb.exists(`${env.config.queue.prefix}:locks:${job.id}:lock`)).toBe(0);
  });

  it("cancelling a running job aborts its signal (BullMQ's lookup by id)", async () => {
    expect(keepBullmqLocksInDictionary()).toBe(true);
    let aborted: unknown;
    let markStarted!: () => void;
    const started = new Promise<void>((resolve) => (markStarted = resolve));
    const { queue, worker } = await setup(async (_job, _token, signal) => {
      markStarted();
      // At most 5 s, so a failed check cannot leave the job (and close()) waiting.
      await new Promise<void>((resolve) => {
        signal!.addEventListener('abort', () => resolve(), { once: true });
        setTimeout(resolve, 5000).unref();
      });
      aborted = signal!.reason;
      throw new Error('cancelled');
    });
    const failed = new Promise<void>((resolve) => worker.on('failed', () => resolve()));
    const job = await queue.add('Cancel', {}, { attempts: 1 });
    await started;
    expect(lockManagerOf(worker).getTrackedJobIds()).toEqual([job.id]);
    expect(worker.cancelJob(job.id!, 'operator')).toBe(true);
    await failed;
    expect(aborted).toBe('operator');
    expect(worker.cancelJob('no-such-job')).toBe(false);
    await vi.waitFor(() => expect(lockManagerOf(worker).getActiveJobCount()).toBe(0), { timeout: 2000 });
  });

  it('the dictionary: ids of any shape, size, keys over a copy, clear', () => {
    const t = new TrackedJobs<{ token: string }>();
    for (const id of ['1', '100000', 'refresh:crypto', '__proto__', 'constructor']) t.set(id, { token: id });
    t.set('1', { token: 'again' });
    expect(t.size).toBe(5);
    expect(t.get('1')).toEqual({ token: 'again' });
    expect(t.get('__proto__')).toEqual({ token: '__proto__' });
    expect(t.get('toString')).toBeUndefined();
    for (const id of t.keys()) if (id !== '1') t.delete(id);
    expect(t.delete('refresh:crypto')).toBe(false);
    expect([...t.keys()]).toEqual(['1']);
    expect([...t.values()]).toEqual([{ token: 'again' }]);
    t.clear();
    expect(t.size).toBe(0);
    expect(t.has('1')).toBe(false);
  });
});
