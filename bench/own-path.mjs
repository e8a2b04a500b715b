#!/usr/bin/env node
// rqctl's own per-job work, without Redis or BullMQ's: the worker's JobRunner (slot, tracking,
// deadline, payload check, context, outcome, the metrics counters, on by default) and its two log
// lines written by the CLI's logger into a file, for N jobs handed over 50 at a time, against a bare
// async no-op processor in the same run.
// What BullMQ and ioredis cost per job is the worker rows' business (bench/rows/worker.mjs); this
// isolates the part rqctl can change, which this host's noise hides in those rows (BENCHMARKS.md).
//
//   npm run build && node bench/own-path.mjs [--n 300000] [--rounds 7]
//
// The jobs are plain objects with the fields the runner reads (name, id, data, opts, attemptsMade,
// timestamp, processedOn), not BullMQ Job instances: no Redis is involved. It prints CPU per job
// (process.cpuUsage, all threads) as the median of the rounds: with the log lines, with them
// discarded (`quiet`), and the bare processor.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const N = arg('n', 300_000);
const ROUNDS = arg('rounds', 7);
const BATCH = 50;

if (!process.env.RQCTL_OWN_PATH_CHILD) {
  // The logger writes to stdout, as a worker under supervisord does into its log file.
  const dir = mkdtempSync(join(tmpdir(), 'rqctl-own-path-'));
  const fd = openSync(join(dir, 'worker.log'), 'w');
  try {
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
      stdio: ['ignore', fd, 'inherit'],
      env: { ...process.env, RQCTL_OWN_PATH_CHILD: '1' },
    });
    process.exitCode = r.status ?? 1;
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
} else {
  const dist = (rel) => import(pathToFileURL(join(ROOT, 'dist', rel)).href);
  const { JobRunner } = await dist('runtime/worker/job-runner.js');
  const { RunningJobs } = await dist('runtime/worker/running-jobs.js');
  const { JobDeadlines } = await dist('runtime/worker/deadline.js');
  const { Slots } = await dist('runtime/worker/slots.js');
  const { Output, eventLogger } = await dist('cli/render.js');
  const { CounterStore } = await dist('metrics/counter-store.js');
  const { registerJobType } = await dist('jobs/registry.js');
  for (const t of (await import(pathToFileURL(join(ROOT, 'bench/jobs/noop.mjs')).href)).default) registerJobType({ ...t });

  const settings = {
    queues: ['bench'],
    concurrency: BATCH,
    tries: 3,
    backoff: 60,
    timeout: 300,
    grace: 10,
    maxTime: 0,
    maxJobs: 0,
    memoryMb: 0,
    stopWhenEmpty: false,
    sleep: 3,
  };
  const stop = { stopping: false, requestStop() {} };
  const runnerWith = (log) => {
    const jobs = new RunningJobs(log);
    return new JobRunner({
      config: {},
      settings,
      redis: {},
      limits: {},
      log,
      stats: { jobsDone: 0, jobsFailed: 0, running: 0, started: 0 },
      slots: new Slots(BATCH),
      jobs,
      deadlines: new JobDeadlines(settings, jobs, log, stop),
      control: {},
      stop,
      // On by default (metrics.counters): counted in memory per job; never flushed here (no start()).
      counters: new CounterStore({ client: {}, queuePrefix: 'bull', queues: ['bench'], jobNames: ['BenchNoop'] }),
    });
  };
  const logged = runnerWith(eventLogger(new Output({})));
  const quiet = runnerWith(() => {});
  const bare = async () => null;
  const now = Date.now();
  const job = (i) => ({
    name: 'BenchNoop',
    id: String(i),
    data: { i },
    opts: { attempts: 3, backoff: { type: 'fixed', delay: 60_000 } },
    attemptsMade: 0,
    timestamp: now,
    processedOn: now,
    delay: 0,
  });

  async function round(runner) {
    const processor = runner?.processorFor('bench');
    const c0 = process.cpuUsage();
    for (let i = 0; i < N; i += BATCH) {
      const batch = [];
      for (let k = 0; k < BATCH; k++) {
        const j = job(i + k);
        batch.push((processor ? processor(j, 'token') : bare(j)).then(() => j));
      }
      const done = await Promise.all(batch);
      // BullMQ's `completed` event, once the outcome is recorded.
      if (runner) for (const j of done) runner.completed(j, 'bench');
      // Let the logger's 25 ms flush timer run, as the event loop does between Redis replies.
      if (i % 5_000 === 0) await new Promise((r) => setImmediate(r));
    }
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / N;
  }

  const sides = { bare: undefined, quiet, logged };
  const res = Object.fromEntries(Object.keys(sides).map((k) => [k, []]));
  for (let r = 0; r < ROUNDS; r++) for (const [name, runner] of Object.entries(sides)) res[name].push(await round(runner));
  const med = (a) => a.slice().sort((x, y) => x - y)[a.length >> 1];
  const m = Object.fromEntries(Object.entries(res).map(([k, v]) => [k, med(v)]));
  process.stderr.write(
    `CPU per job, median of ${ROUNDS} rounds of ${N} jobs:\n` +
      `  bare async no-op processor      ${m.bare.toFixed(2)} µs\n` +
      `  rqctl runner, log discarded     ${m.quiet.toFixed(2)} µs  (own work ${(m.quiet - m.bare).toFixed(2)} µs)\n` +
      `  rqctl runner, two log lines     ${m.logged.toFixed(2)} µs  (own work ${(m.logged - m.bare).toFixed(2)} µs; the lines ${(m.logged - m.quiet).toFixed(2)} µs)\n`,
  );
  process.exit(0);
}
