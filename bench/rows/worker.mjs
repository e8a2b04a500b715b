// Worker throughput (SPEC §10): N no-op jobs through `rqctl worker` (its full path: job registry,
// payload validation, timeout/AbortSignal, one log line per event) vs a raw BullMQ Worker with a
// no-op processor, same concurrency, same Redis, same jobs.
//
// Throughput is taken from BullMQ's own completion timestamps: (N − 1) / (last finishedOn − first
// finishedOn), the steady state, so neither side is charged for process start-up or for how quickly
// it notices an empty queue. Jobs are added with removeOnComplete: false so every timestamp stays.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BenchRedis } from '../lib/redis.mjs';
import { startBackground, waitUntil } from '../lib/proc.mjs';
import { copyDb, fillQueue } from '../lib/queue.mjs';
import { cleanEnv, distHas, hasCommand, missing } from '../lib/env.mjs';

const QUEUE = 'bench';
/** The filled queue is kept here and copied to DB 0 before each run. */
const FIXTURE_DB = 15;

function countLines(file) {
  const b = readFileSync(file);
  let n = 0;
  for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) n++;
  return n;
}

/** Workers log into files (as under supervisord's stdout_logfile), not into this harness' pipes. */
function logFileFor(state, name) {
  return join(state.logDir, `${name}.log`);
}

async function runWorkers(state, ctx, spawnOne, processes) {
  const { redis, n } = state;
  state.logDir = mkdtempSync(join(tmpdir(), 'rqctl-bench-logs-'));
  const c = redis.client();
  try {
    await copyDb(c, FIXTURE_DB, 0);
    const procs = Array.from({ length: processes }, (_, i) => spawnOne(i));
    try {
      await waitUntil(
        `${n} jobs to finish`,
        async () => {
          const [done, failed] = await Promise.all([c.zcard(`bull:${QUEUE}:completed`), c.zcard(`bull:${QUEUE}:failed`)]);
          if (failed > 0) throw new Error(`${failed} jobs failed: ${procs.map((p) => p.tail.slice(-600)).join('\n')}`);
          for (const p of procs) if (p.child.exitCode !== null) throw new Error(`a worker exited ${p.child.exitCode}: ${p.tail.slice(-1500)}`);
          return done >= n;
        },
        { timeoutMs: 600_000, everyMs: 100 },
      );
    } finally {
      await Promise.all(procs.map((p) => p.stop()));
    }
    // rqctl's logging is part of its path: two lines per job (processing, processed) must be there.
    const logLines = procs.reduce((sum, p) => sum + (p.logFile ? countLines(p.logFile) : 0), 0);
    const [, first] = await c.zrange(`bull:${QUEUE}:completed`, 0, 0, 'WITHSCORES');
    const [, last] = await c.zrange(`bull:${QUEUE}:completed`, -1, -1, 'WITHSCORES');
    const ms = Number(last) - Number(first);
    return { value: ((n - 1) * 1000) / Math.max(ms, 1), extra: { rssMb: Math.max(...procs.map((p) => p.peakRssMb)), ...(logLines ? { logLines } : {}) } };
  } finally {
    c.disconnect();
    rmSync(state.logDir, { recursive: true, force: true });
  }
}

function makeRow({ id, title, processes, concurrency }) {
  return {
    id,
    title,
    measure: `${processes} process${processes > 1 ? 'es' : ''} × concurrency ${concurrency}, no-op jobs: rqctl worker vs raw BullMQ Worker`,
    kind: 'rate',
    unit: 'jobs',
    target: 0.9,
    rounds: { full: 3, quick: 1 },
    n: (ctx) => (ctx.quick ? 5_000 : 100_000),
    unavailable: (ctx) => (!distHas(ctx, 'runtime/worker.js') || !hasCommand(ctx, ['worker']) ? missing('rqctl worker') : undefined),
    async setup(ctx) {
      const redis = await BenchRedis.start();
      const n = ctx.quick ? 5_000 : 100_000;
      await fillQueue(redis.url(FIXTURE_DB), QUEUE, n, 'BenchNoop', { removeOnComplete: false, removeOnFail: false, attempts: 1 });
      return { redis, n };
    },
    async teardown(state) {
      await state?.redis.stop();
    },
    subjects: [
      {
        name: 'raw',
        baseline: true,
        run: (state, ctx) =>
          runWorkers(state, ctx, () => startBackground(process.execPath, [join(ctx.root, 'bench/raw/worker.mjs'), state.redis.url(), QUEUE, String(concurrency)], { env: cleanEnv() }), processes),
      },
      {
        name: 'rqctl',
        run: (state, ctx) =>
          runWorkers(
            state,
            ctx,
            (i) => {
              const logFile = logFileFor(state, `rqctl-${i}`);
              const p = startBackground(process.execPath, [ctx.bin, 'worker', '--queue', QUEUE, '--concurrency', String(concurrency), '--name', `bench-${i}`], {
                env: cleanEnv({ REDIS_URL: state.redis.url(), RQCTL_EXTRA_JOBS: join(ctx.root, 'bench/jobs/noop.mjs') }),
                stdoutFile: logFile,
              });
              return Object.assign(p, { logFile });
            },
            processes,
          ),
      },
    ],
  };
}

export const workerC50 = makeRow({ id: 'worker-c50', title: 'worker throughput c50', processes: 1, concurrency: 50 });
export const worker3x10 = makeRow({ id: 'worker-3x10', title: 'worker 3 processes × c10', processes: 3, concurrency: 10 });
