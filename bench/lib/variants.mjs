// Worker variants as bench/ab-worker.mjs and bench/perf-worker.mjs take them, as JSON:
//   {"raw": true, "script": "bench/raw/….mjs"}   a raw BullMQ worker script (default bench/raw/worker.mjs);
//                                               "logged": true sends its stdout to a file as rqctl's is
//   {"root": "/other/checkout", "args": ["-q"]}  `rqctl [args] worker …` from this or another built checkout
// each with an optional "env" on top.
import { join } from 'node:path';

/** Takes the numeric `--name value` flags out of `argv` (the rest stays in it): name → value or its default. */
export function takeNumbers(argv, defaults) {
  const out = {};
  for (const [name, dflt] of Object.entries(defaults)) {
    const i = argv.indexOf(`--${name}`);
    out[name] = i >= 0 ? Number(argv.splice(i, 2)[1]) : dflt;
  }
  return out;
}

/**
 * The node arguments and extra environment of one worker of variant `v` on `queue` of `redisUrl`;
 * `logged`: the caller sends its stdout to a file (rqctl's always, a raw script's when asked). `name` is the worker's --name.
 */
export function variantCommand(root, v, { redisUrl, queue, concurrency, name }) {
  if (v.raw)
    return { args: [join(root, v.script ?? 'bench/raw/worker.mjs'), redisUrl, queue, String(concurrency)], env: v.env ?? {}, logged: v.logged === true };
  return {
    args: [join(v.root ?? root, 'bin/rqctl.js'), ...(v.args ?? []), 'worker', '--queue', queue, '--concurrency', String(concurrency), '--name', name],
    env: { REDIS_URL: redisUrl, RQCTL_EXTRA_JOBS: join(root, 'bench/jobs/noop.mjs'), ...(v.env ?? {}) },
    logged: true,
  };
}
