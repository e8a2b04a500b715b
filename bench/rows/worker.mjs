// Worker throughput (BENCHMARKS.md): N no-op jobs through `rqctl worker` (its full path: job registry,
// payload validation, timeout/AbortSignal, one log line per event) vs a raw BullMQ Worker with a
// no-op processor, same concurrency, same Redis, same jobs.
//
// Throughput: N / (time from the first job taken to the queue empty and nothing active), polled every
// 20 ms, so neither side is charged for process start-up or for how it notices an empty queue. The
// jobs are made by rqctl's dispatchBulk, with rqctl's retention. cpuUsPerJob: the workers' CPU time
// over the same span, per job (less sensitive to a noisy host than throughput); redisCpuUsPerJob:
// redis-server's (the scripts BullMQ runs per job), which shares the host's cores with the workers.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BenchRedis } from '../lib/redis.mjs';
import { startBackground, waitUntil } from '../lib/proc.mjs';
import { pathToFileURL } from 'node:url';
import { copyDb, fillQueue as addJobs } from '../lib/queue.mjs';
import { benchConfig, importDist } from '../lib/rqctl.mjs';
import { cleanEnv, distHas, hasCommand, missing } from '../lib/env.mjs';

export const QUEUE = 'bench';
/** The filled queue is kept here and copied to DB 0 before each run. */
const FIXTURE_DB = 15;
/** Where the copy is made, to be swapped into DB 0 once the workers wait (SWAPDB). */
const STAGING_DB = 13;

/** Clients of DB 0 blocked in a command (BullMQ's workers wait for jobs with BZPOPMIN). */
function blockedOnDb0(clientList) {
  let n = 0;
  for (const line of clientList.split('\n')) if (/ db=0 /.test(line) && / flags=\w*b/.test(line) && / cmd=bzpopmin/.test(line)) n++;
  return n;
}

function countLines(file) {
  const b = readFileSync(file);
  let n = 0;
  for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) n++;
  return n;
}

/** Workers log into files (as under supervisord's stdout_logfile), not into this harness' pipes. */
export function logFileFor(state, name) {
  return join(state.logDir, `${name}.log`);
}

/** utime + stime of a process so far, ms (/proc/<pid>/stat, clock ticks of 10 ms). */
/** redis-server's own CPU so far (INFO cpu: user + sys), ms: the Lua scripts BullMQ runs per job. */
async function redisCpuMs(client) {
  const info = await client.info('cpu');
  const num = (k) => Number(new RegExp(`^${k}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);
  return (num('used_cpu_user') + num('used_cpu_sys')) * 1000;
}

function cpuMs(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return NaN;
  }
}

export async function runWorkers(state, ctx, spawnOne, processes, fixture = { db: FIXTURE_DB, kept: state.keepCompleted }) {
  const { redis, n } = state;
  state.logDir = mkdtempSync(join(tmpdir(), 'rqctl-bench-logs-'));
  const c = redis.client();
  const wait = `bull:${QUEUE}:wait`;
  const active = `bull:${QUEUE}:active`;
  try {
    // Every worker starts on an empty DB 0 and the jobs appear at once (SWAPDB wakes the workers
    // blocked on the queue) only when all of them wait for jobs: no side is charged for start-up,
    // even with several processes, where the first to start would otherwise run while the others
    // still load their modules (and their start-up CPU would count per job).
    await copyDb(c, fixture.db, STAGING_DB);
    await c.select(0);
    await c.flushdb();
    const procs = Array.from({ length: processes }, (_, i) => spawnOne(i));
    await waitUntil(
      `${processes} worker(s) waiting for jobs`,
      async () => {
        for (const p of procs) if (p.child.exitCode !== null) throw new Error(`a worker exited ${p.child.exitCode}: ${p.tail.slice(-1500)}`);
        return blockedOnDb0(await c.client('LIST')) >= processes;
      },
      { timeoutMs: 60_000, everyMs: 10 },
    );
    await c.swapdb(0, STAGING_DB);
    let first;
    let cpu0;
    let end;
    let cpu = NaN;
    let redisCpu0 = NaN;
    let redisCpu = NaN;
    // The second half of the run on its own (jobs left, time, CPU when half the queue was taken): the
    // worker's steady state, without its JIT warm-up, which a long-running worker pays once.
    let half;
    try {
      // From the moment the first job is taken to the moment none is left, polled every 20 ms: the
      // same clock for both sides, without either's start-up or its way of noticing an empty queue.
      await waitUntil(
        `${n} jobs to finish`,
        async () => {
          const [waiting, running, failed] = await Promise.all([c.llen(wait), c.llen(active), c.zcard(`bull:${QUEUE}:failed`)]);
          const now = performance.now();
          if (failed > 0) throw new Error(`${failed} jobs failed: ${procs.map((p) => p.tail.slice(-600)).join('\n')}`);
          for (const p of procs) if (p.child.exitCode !== null) throw new Error(`a worker exited ${p.child.exitCode}: ${p.tail.slice(-1500)}`);
          if (first === undefined && waiting < n) {
            first = now;
            cpu0 = procs.map((p) => cpuMs(p.child.pid));
            redisCpu0 = await redisCpuMs(c);
          }
          if (half === undefined && waiting <= n / 2) half = { left: waiting + running, at: now, cpu: procs.map((p) => cpuMs(p.child.pid)) };
          if (first !== undefined && waiting === 0 && running === 0) {
            end = now;
            redisCpu = (await redisCpuMs(c)) - redisCpu0;
            return true;
          }
          return false;
        },
        { timeoutMs: 600_000, everyMs: 20 },
      );
    } finally {
      const cpuEnd = procs.map((p) => cpuMs(p.child.pid));
      cpu = cpuEnd.reduce((sum, c, i) => sum + c - (cpu0?.[i] ?? 0), 0);
      if (half) half.cpu = cpuEnd.reduce((sum, c, i) => sum + c - half.cpu[i], 0);
      await Promise.all(procs.map((p) => p.stop()));
    }
    const [completed, failed, delayed] = await Promise.all([
      c.zcard(`bull:${QUEUE}:completed`),
      c.zcard(`bull:${QUEUE}:failed`),
      c.zcard(`bull:${QUEUE}:delayed`),
    ]);
    if (failed || delayed || completed !== Math.min(n, fixture.kept))
      throw new Error(`after the run: ${completed} completed (kept), ${failed} failed, ${delayed} delayed`);
    // rqctl's logging is part of its path: two lines per job (processing, processed) must be there.
    const logLines = procs.reduce((sum, p) => sum + (p.logFile ? countLines(p.logFile) : 0), 0);
    return {
      value: (n * 1000) / (end - first),
      extra: {
        cpuUsPerJob: Math.round((cpu * 1000) / n),
        ...(Number.isFinite(redisCpu) ? { redisCpuUsPerJob: Math.round((redisCpu * 1000) / n) } : {}),
        ...(half && end > half.at
          ? { steadyJobsPerSec: Math.round((half.left * 1000) / (end - half.at)), steadyCpuUsPerJob: Math.round((half.cpu * 1000) / half.left) }
          : {}),
        rssMb: Math.max(...procs.map((p) => p.peakRssMb)),
        ...(logLines ? { logLines } : {}),
      },
    };
  } finally {
    c.disconnect();
    rmSync(state.logDir, { recursive: true, force: true });
  }
}

/**
 * A redis-server of the row's own with N jobs of `jobName` (from the job module `jobsFile`) in the
 * fixture DB. The jobs are what `rqctl dispatch` makes (dispatchBulk): rqctl's attempts, backoff and
 * retention (completed kept 24 h, at most 10,000), so both sides do production's work.
 */
export async function fillQueue(ctx, jobsFile, jobName) {
  const redis = await BenchRedis.start();
  const n = ctx.quick ? 5_000 : 100_000;
  const config = await benchConfig(ctx, { REDIS_URL: redis.url(FIXTURE_DB) });
  const { registerJobType } = await importDist(ctx, 'jobs/registry.js');
  for (const t of (await import(pathToFileURL(join(ctx.root, jobsFile)).href)).default) registerJobType({ ...t });
  const { dispatchBulk } = await importDist(ctx, 'jobs/dispatch.js');
  for (let i = 0; i < n; i += 1000)
    await dispatchBulk(
      config,
      Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({ job: jobName, data: { i: i + j } })),
    );
  return { redis, n, keepCompleted: config.queue.keepCompleted.count };
}

function makeRow({ id, title, processes, concurrency }) {
  return {
    id,
    title,
    measure: `${processes} process${processes > 1 ? 'es' : ''} × concurrency ${concurrency}, no-op jobs: rqctl worker vs raw BullMQ Worker`,
    kind: 'rate',
    unit: 'jobs',
    target: 0.95,
    extraTarget: 'CPU/job ≤ 1.1× (medians)',
    // CPU per job is the steadier figure on a shared host: its medians, rqctl's over the raw worker's.
    checkExtra: (_worst, mine, raw) => mine !== undefined && raw !== undefined && mine.cpuUsPerJob <= 1.1 * raw.cpuUsPerJob,
    rounds: { full: 3, quick: 1 },
    n: (ctx) => (ctx.quick ? 5_000 : 100_000),
    unavailable: (ctx) => (!distHas(ctx, 'runtime/worker.js') || !hasCommand(ctx, ['worker']) ? missing('rqctl worker') : undefined),
    setup: (ctx) => fillQueue(ctx, 'bench/jobs/noop.mjs', 'BenchNoop'),
    async teardown(state) {
      await state?.redis.stop();
    },
    subjects: [
      {
        name: 'raw',
        baseline: true,
        run: (state, ctx) =>
          runWorkers(
            state,
            ctx,
            () =>
              startBackground(process.execPath, [join(ctx.root, 'bench/raw/worker.mjs'), state.redis.url(), QUEUE, String(concurrency)], { env: cleanEnv() }),
            processes,
          ),
      },
      rqctlSubject('rqctl', processes, concurrency),
    ],
  };
}

/** A worker process that logs into a file (as under supervisord's stdout_logfile): the row counts its lines. */
export function loggedWorker(state, tag, args, env = {}) {
  const logFile = logFileFor(state, tag);
  const p = startBackground(process.execPath, args, { env: cleanEnv(env), stdoutFile: logFile });
  return Object.assign(p, { logFile });
}

/** `rqctl worker` as the bench runs it: a no-op job type, its log into a file; `env` on top (RQCTL_METRICS_COUNTERS). */
function rqctlSubject(name, processes, concurrency, env = {}, baseline = false) {
  return {
    name,
    ...(baseline ? { baseline: true } : {}),
    run: (state, ctx) =>
      runWorkers(
        state,
        ctx,
        (i) =>
          loggedWorker(state, `${name}-${i}`, [ctx.bin, 'worker', '--queue', QUEUE, '--concurrency', String(concurrency), '--name', `bench-${i}`], {
            REDIS_URL: state.redis.url(),
            RQCTL_EXTRA_JOBS: join(ctx.root, 'bench/jobs/noop.mjs'),
            ...env,
          }),
        processes,
      ),
  };
}

export const workerC50 = makeRow({ id: 'worker-c50', title: 'worker throughput c50', processes: 1, concurrency: 50 });
export const worker3x10 = makeRow({ id: 'worker-3x10', title: 'worker 3 processes × c10', processes: 3, concurrency: 10 });

// The metrics counters (docs/metrics.md): the same rqctl worker with its per-job counters and their
// once-a-second flush into Redis, against itself with `RQCTL_METRICS_COUNTERS=false`.
const c50 = makeRow({ id: 'worker-c50-counters', title: 'worker c50: counters on vs off', processes: 1, concurrency: 50 });
export const workerC50Counters = {
  ...c50,
  measure: '1 process × concurrency 50, no-op jobs: rqctl worker with metrics counters on vs the same with them off',
  target: 0.97,
  extraTarget: undefined,
  checkExtra: undefined,
  unavailable: (ctx) => c50.unavailable(ctx) ?? (!distHas(ctx, 'metrics/counter-store.js') ? missing('metrics counters') : undefined),
  subjects: [
    rqctlSubject('counters-off', 1, 50, { RQCTL_METRICS_COUNTERS: 'false' }, true),
    rqctlSubject('counters-on', 1, 50, { RQCTL_METRICS_COUNTERS: 'true' }),
  ],
};

// What retention costs a bare BullMQ worker on this machine (BENCHMARKS.md): the same raw worker
// over jobs with rqctl's retention (completed kept 24 h, at most 10,000; failed 30 days) and over
// jobs removed as they complete. Informational: no target; it says how much of every worker row's
// time is BullMQ trimming its completed set.
const NO_RETENTION_DB = 14;
const raw = makeRow({ id: 'worker-c50-retention', title: 'raw BullMQ c50: retention vs none', processes: 1, concurrency: 50 });
const rawSubject = (name, fixture, baseline = false) => ({
  name,
  ...(baseline ? { baseline: true } : {}),
  run: (state, ctx) =>
    runWorkers(
      state,
      ctx,
      () => startBackground(process.execPath, [join(ctx.root, 'bench/raw/worker.mjs'), state.redis.url(), QUEUE, '50'], { env: cleanEnv() }),
      1,
      fixture(state),
    ),
});
export const workerC50Retention = {
  ...raw,
  measure: "1 process × concurrency 50, no-op jobs, raw BullMQ Worker: jobs with rqctl's retention vs jobs removed on completion (informational)",
  target: undefined,
  extraTarget: 'informational',
  checkExtra: undefined,
  unavailable: () => undefined,
  async setup(ctx) {
    const state = await raw.setup(ctx);
    await addJobs(state.redis.url(NO_RETENTION_DB), QUEUE, state.n, 'BenchNoop', { attempts: 3, removeOnComplete: true, removeOnFail: true });
    return state;
  },
  subjects: [
    rawSubject('no-retention', () => ({ db: NO_RETENTION_DB, kept: 0 }), true),
    rawSubject('rqctl-retention', (state) => ({ db: FIXTURE_DB, kept: state.keepCompleted })),
  ],
};

// The floor of the worker rows (BENCHMARKS.md "What stops the worker rows"): against the same raw
// worker, a BullMQ worker configured as rqctl's (metrics, name, lock/drain settings, retention) that
// writes rqctl's two log lines per job (bench/raw/worker-configured.mjs), and rqctl itself. The first
// ratio is what BullMQ charges for what rqctl must do before any of rqctl's own code runs; the gap
// between the two is rqctl's own. And the raw worker with the process-level fixes rqctl makes in its
// own processes (bench/raw/worker-fixed.mjs, src/cli/preload.ts): rqctl against it is rqctl's cost
// without that advantage. Informational: no target.
const floor = makeRow({ id: 'worker-c50-floor', title: 'worker c50: configured raw and rqctl vs raw', processes: 1, concurrency: 50 });
export const workerC50Floor = {
  ...floor,
  measure:
    "1 process × concurrency 50, no-op jobs: the raw BullMQ Worker with rqctl's process-level fixes, one configured and logging like rqctl's, and rqctl worker, vs the raw BullMQ Worker (informational)",
  target: undefined,
  extraTarget: 'informational',
  checkExtra: undefined,
  subjects: [
    floor.subjects[0],
    {
      name: 'raw-fixed',
      run: (state, ctx) =>
        runWorkers(
          state,
          ctx,
          () => startBackground(process.execPath, [join(ctx.root, 'bench/raw/worker-fixed.mjs'), state.redis.url(), QUEUE, '50'], { env: cleanEnv() }),
          1,
        ),
    },
    {
      name: 'raw-configured',
      run: (state, ctx) =>
        runWorkers(
          state,
          ctx,
          (i) => loggedWorker(state, `raw-configured-${i}`, [join(ctx.root, 'bench/raw/worker-configured.mjs'), state.redis.url(), QUEUE, '50']),
          1,
        ),
    },
    floor.subjects[1],
  ],
};
