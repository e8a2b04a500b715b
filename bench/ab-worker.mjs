#!/usr/bin/env node
// A/B of worker variants, the way the worker rows measure (bench/rows/worker.mjs: the same queue of
// N no-op jobs, every worker waiting before the jobs appear, CPU per job over the run and over its
// second half), with more rounds and any number of variants, in rotating order. For deciding whether
// a change to the worker helps when the rows' three rounds cannot tell on a noisy host.
//
//   npm run build && node bench/ab-worker.mjs [--rounds 5] [--processes 1] [--concurrency 50] '<variants>'
//
// <variants> is a JSON object, name → variant:
//   {"raw": true}                      bench/raw/worker.mjs (or {"raw": true, "script": "bench/raw/worker-configured.mjs"})
//   {"args": ["-q"], "env": {...}}     `rqctl [args] worker …` with extra environment
//   {"root": "/path/to/other/checkout"} rqctl (bin/ and dist/) from another built checkout
//   "logged": true                     a raw script's stdout into a file, as rqctl's always is
//   "logDir": "/dev/shm"               where a logged variant's file goes (default: the OS's temporary
//                                      directory; a tmpfs has no disk writeback to pay for)
// e.g. '{"raw":{"raw":true},"rqctl":{},"quiet":{"args":["-q"]},"no-counters":{"env":{"RQCTL_METRICS_COUNTERS":"false"}}}'
//
// Prints each round, then per variant the medians: jobs/s, CPU µs per job, the same over the second
// half, and redis-server's CPU per job.
import { mkdtempSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBackground } from './lib/proc.mjs';
import { cleanEnv } from './lib/env.mjs';
import { takeNumbers, variantCommand } from './lib/variants.mjs';
import { fillQueue, loggedWorker, QUEUE, runWorkers } from './rows/worker.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const { rounds, processes, concurrency } = takeNumbers(argv, { rounds: 5, processes: 1, concurrency: 50 });
if (argv.length !== 1) {
  process.stderr.write('usage: node bench/ab-worker.mjs [--rounds 5] [--processes 1] [--concurrency 50] \'{"raw":{"raw":true},"rqctl":{}}\'\n');
  process.exit(2);
}
const variants = Object.entries(JSON.parse(argv[0]));

const ctx = { root: ROOT, quick: false, bin: join(ROOT, 'bin/rqctl.js') };
const state = await fillQueue(ctx, 'bench/jobs/noop.mjs', 'BenchNoop');
const results = new Map(variants.map(([name]) => [name, []]));
try {
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < variants.length; k++) {
      const [name, v] = variants[(k + r) % variants.length];
      const ownDirs = [];
      const spawn = (i) => {
        const cmd = variantCommand(ROOT, v, { redisUrl: state.redis.url(), queue: QUEUE, concurrency, name: `ab-${i}` });
        if (!cmd.logged) return startBackground(process.execPath, cmd.args, { env: cleanEnv(cmd.env) });
        if (!v.logDir) return loggedWorker(state, `${name}-${i}`, cmd.args, cmd.env);
        const dir = mkdtempSync(join(v.logDir, 'rqctl-ab-'));
        ownDirs.push(dir);
        const logFile = join(dir, `${name}-${i}.log`);
        return Object.assign(startBackground(process.execPath, cmd.args, { env: cleanEnv(cmd.env), stdoutFile: logFile }), { logFile });
      };
      let res;
      try {
        res = await runWorkers(state, ctx, spawn, processes);
      } finally {
        for (const dir of ownDirs) rmSync(dir, { recursive: true, force: true });
      }
      const row = {
        jobsPerSec: Math.round(res.value),
        cpuUsPerJob: res.extra.cpuUsPerJob,
        steadyCpuUsPerJob: res.extra.steadyCpuUsPerJob,
        redisCpuUsPerJob: res.extra.redisCpuUsPerJob,
      };
      results.get(name).push(row);
      console.log(`round ${r + 1}/${rounds} ${name}: ${JSON.stringify(row)}`);
    }
  }
} finally {
  await state.redis.stop();
}
const median = (xs) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
console.log(`\nmedians of ${rounds} rounds (${processes} process(es) × concurrency ${concurrency}, ${state.n} jobs):`);
for (const [name, rows] of results) {
  const m = (k) => median(rows.map((x) => x[k]));
  console.log(
    `  ${name.padEnd(16)} ${String(m('jobsPerSec')).padStart(6)} jobs/s   CPU ${m('cpuUsPerJob')} µs/job   second half ${m('steadyCpuUsPerJob')} µs/job   Redis ${m('redisCpuUsPerJob')} µs/job`,
  );
}
