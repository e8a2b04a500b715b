import type { Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import type { RuntimeEvent } from '../../src/runtime/events.js';
import { JobDeadlines } from '../../src/runtime/worker/deadline.js';
import { RunningJobs } from '../../src/runtime/worker/running-jobs.js';
import type { JobType } from '../../src/jobs/types.js';

// The worker's bookkeeping of the jobs it runs (a list with swap-remove, not a Map: see
// running-jobs.ts) and their deadlines (a sweep over that list). The e2e worker tests cover both
// through a real worker; these pin the list's own rules: every job found once, in any order.

/** The fields of a BullMQ job the bookkeeping reads. */
function job(id: number): Job {
  return { id: String(id), name: 'Noop', data: {}, opts: {}, attemptsMade: 0 } as unknown as Job;
}

function shuffled<T>(xs: T[], seed = 7): T[] {
  const out = xs.slice();
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('RunningJobs', () => {
  it('finds every job once whatever the order outcomes arrive in, and forgets it after', () => {
    const log: RuntimeEvent[] = [];
    const jobs = new RunningJobs((e) => log.push(e));
    const all = Array.from({ length: 200 }, (_, i) => job(i));
    for (const j of all) {
      const t = jobs.add(j, 'q');
      t.startedAt = performance.now();
      jobs.returned(t, false);
    }
    expect(jobs.size).toBe(200);
    let left = 200;
    for (const j of shuffled(all)) {
      expect(jobs.settle(j)).toEqual(expect.any(Number));
      expect(jobs.size).toBe(--left);
      expect(jobs.settle(j)).toBeUndefined();
    }
    expect(jobs.settle(job(999))).toBeUndefined();
  });

  it('a control error forgets the job at once; a lost outcome is swept after 15 s; a lost lock aborts only that running job', () => {
    const log: RuntimeEvent[] = [];
    const jobs = new RunningJobs((e) => log.push(e));
    const [a, b, c, d] = [job(1), job(2), job(3), job(4)];
    const ta = jobs.add(a, 'q');
    const tb = jobs.add(b, 'q');
    const tc = jobs.add(c, 'q');
    const td = jobs.add(d, 'other');
    jobs.returned(ta, true);
    expect(jobs.size).toBe(3);
    expect(jobs.settle(a)).toBeUndefined();

    jobs.returned(tb, false);
    tb.returnedAt = Date.now() - 16_000;
    jobs.sweep();
    expect(jobs.size).toBe(2);
    expect(jobs.settle(b)).toBeUndefined();

    const signalC = tc.signal;
    const signalD = td.signal;
    jobs.lockLost('q', ['3', '4']);
    expect(signalC.aborted).toBe(true);
    expect((signalC.reason as Error).name).toBe('LockLostError');
    expect(signalD.aborted).toBe(false);
    expect(log.map((e) => e.event)).toEqual(['lock-lost']);
    expect(jobs.settle(c)).toBeUndefined(); // never started (no startedAt): tracked, no duration
    expect(jobs.size).toBe(1);
  });
});

describe('JobDeadlines', () => {
  const type = (timeout?: number) => ({ name: 'Noop', timeout }) as unknown as JobType<any>;

  it('aborts a job past its timeout within a sweep, leaves the others alone, and stops sweeping once none is armed', async () => {
    const log: RuntimeEvent[] = [];
    const jobs = new RunningJobs((e) => log.push(e));
    const stops: string[] = [];
    const deadlines = new JobDeadlines({ timeout: 300, grace: 60 }, jobs, (e) => log.push(e), {
      stopping: false,
      requestStop: (reason) => stops.push(reason),
    });
    const quick = jobs.add(job(1), 'q');
    const slow = jobs.add(job(2), 'q');
    const done = jobs.add(job(3), 'q');
    for (const t of [quick, slow, done]) t.startedAt = performance.now();
    deadlines.arm(quick, type(0.05));
    deadlines.arm(slow, type());
    deadlines.arm(done, type(0.05));
    deadlines.disarm(done);
    expect(slow.timeoutS).toBe(300);

    await new Promise((r) => setTimeout(r, 400));
    expect(quick.timedOut).toBe(true);
    expect(quick.signal.aborted).toBe(true);
    expect(slow.timedOut).toBe(false);
    expect(done.timedOut).toBe(false);
    expect(log.filter((e) => e.event === 'timeout').map((e) => e.id)).toEqual(['1']);

    // The timed-out job honours its signal; the slow one finishes: nothing is armed, the sweep stops.
    deadlines.disarm(quick);
    deadlines.disarm(slow);
    await new Promise((r) => setTimeout(r, 250));
    expect((deadlines as unknown as { sweeper: unknown }).sweeper).toBeUndefined();
    expect(stops).toEqual([]);
    deadlines.close();
  });
});
