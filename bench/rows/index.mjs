// The rows of the targets table in BENCHMARKS.md, in its order.
import cliStart from './cli-start.mjs';
import dispatch from './dispatch.mjs';
import keys from './keys.mjs';
import retryAll from './retry-all.mjs';
import cacheClear from './cache-clear.mjs';
import jobsFind from './jobs-find.mjs';
import dashboardOverview from './dashboard-overview.mjs';
import { cacheHit2k, cacheHit200k } from './cache-hit.mjs';
import { workerC50, worker3x10, workerC50Counters, workerC50Floor, workerC50Retention } from './worker.mjs';
import workerLimits from './worker-limits.mjs';

export const rows = [
  workerC50,
  worker3x10,
  workerC50Counters,
  workerLimits,
  workerC50Retention,
  workerC50Floor,
  dispatch,
  dashboardOverview,
  cacheHit2k,
  cacheHit200k,
  cliStart,
  retryAll,
  keys,
  cacheClear,
  jobsFind,
];
