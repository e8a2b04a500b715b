// Worker with provider rate limits (BENCHMARKS.md, docs/rate-limits.md): fetch-shaped no-op jobs
// (bench/jobs/fetch.mjs: a permit from the `bench` provider's budget, no request) through 3 ×
// `rqctl worker --concurrency 10`, with a limit far above the load (100,000/s: every permit granted,
// from leases of up to 64 permits per Redis call once the load is up: docs/rate-limits.md "Leases") vs the same workers with no limit for that provider (nothing asked).
// Same queue, same jobs, same measurement as the worker rows (bench/rows/worker.mjs).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { distHas, missing } from '../lib/env.mjs';
import { fillQueue, loggedWorker, QUEUE, runWorkers } from './worker.mjs';

const PROCESSES = 3;
const CONCURRENCY = 10;

function spawnWorkers(state, ctx, tag, configFile) {
  return (i) =>
    loggedWorker(
      state,
      `${tag}-${i}`,
      [ctx.bin, ...(configFile ? ['--config', configFile] : []), 'worker', '--queue', QUEUE, '--concurrency', String(CONCURRENCY), '--name', `${tag}-${i}`],
      { REDIS_URL: state.redis.url(), RQCTL_EXTRA_JOBS: join(ctx.root, 'bench/jobs/fetch.mjs') },
    );
}

export default {
  id: 'worker-limits',
  title: 'worker with rate limits',
  measure: `${PROCESSES} processes × concurrency ${CONCURRENCY}, fetch-shaped no-op jobs: a limit far above the load (100000/s) vs no limit`,
  kind: 'rate',
  unit: 'jobs',
  target: 0.95,
  rounds: { full: 3, quick: 1 },
  n: (ctx) => (ctx.quick ? 5_000 : 100_000),
  unavailable: (ctx) => (!distHas(ctx, 'limits/provider-limit.lua') ? missing('provider rate limits') : undefined),
  async setup(ctx) {
    const state = await fillQueue(ctx, 'bench/jobs/fetch.mjs', 'BenchFetch');
    const dir = mkdtempSync(join(tmpdir(), 'rqctl-bench-limits-'));
    state.limitsConfig = join(dir, 'rqctl.config.yaml');
    writeFileSync(state.limitsConfig, 'limits:\n  bench: 100000/s\n');
    return state;
  },
  async teardown(state) {
    await state?.redis.stop();
  },
  subjects: [
    { name: 'limits-off', baseline: true, run: (state, ctx) => runWorkers(state, ctx, spawnWorkers(state, ctx, 'off'), PROCESSES) },
    { name: 'limits-on', run: (state, ctx) => runWorkers(state, ctx, spawnWorkers(state, ctx, 'on', state.limitsConfig), PROCESSES) },
  ],
};
