#!/usr/bin/env node
// Where a worker spends its CPU per job: runs N no-op jobs through `rqctl worker` (or the raw BullMQ
// worker of the bench) under `node --cpu-prof` and prints self time per function and per package.
//
//   npm run build && node bench/profile-worker.mjs [--n 30000] [--concurrency 50] [--raw] [--keep DIR]
//   node bench/profile-worker.mjs --compare RAW_DIR RQCTL_DIR [--n 30000]
//
// --compare reads two profiles kept with --keep (same N) and prints, per function, the self time of
// the second minus the first, counted only while jobs complete (from the first sample under BullMQ's
// moveToFinished to the last): start-up and shutdown left out. It finds what a change costs where
// the per-job work really runs, among BullMQ's and ioredis' (caches, JIT), which a one-process
// measurement of rqctl's path (bench/own-path.mjs) cannot show.
//
// The profile's shares are what to read (this machine is shared and noisy): "rqctl" is rqctl's own
// code in dist/, "bullmq"/"ioredis"/"zod" their packages, "node" Node's internals, "gc" the collector.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BenchRedis } from './lib/redis.mjs';
import { startBackground, waitUntil } from './lib/proc.mjs';
import { cleanEnv } from './lib/env.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const N = Number(arg('n', 30000));
const CONCURRENCY = Number(arg('concurrency', 50));
const RAW = process.argv.includes('--raw');
const QUEUE = 'bench';

const dist = (rel) => import(pathToFileURL(join(ROOT, 'dist', rel)).href);

function category(url) {
  if (!url) return 'node';
  if (url.includes('/node_modules/')) return url.split('/node_modules/').pop().split('/')[0];
  if (url.includes('/dist/')) return 'rqctl';
  if (url.startsWith('node:')) return 'node';
  return 'other';
}

function commandStats(info) {
  const m = new Map();
  for (const line of info.split('\n')) {
    const r = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
    if (r) m.set(r[1], Number(r[2]));
  }
  return m;
}

function summarise(file) {
  const prof = JSON.parse(readFileSync(file, 'utf8'));
  const dt = new Map();
  // timeDeltas[i] is the time before samples[i]: attribute it to that sample's node.
  prof.samples.forEach((id, i) => dt.set(id, (dt.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0)));
  const byFn = new Map();
  const byCat = new Map();
  let total = 0;
  for (const node of prof.nodes) {
    const us = dt.get(node.id) ?? 0;
    if (!us) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)' || functionName === '(program)') continue;
    total += us;
    const cat = functionName === '(garbage collector)' ? 'gc' : category(url);
    byCat.set(cat, (byCat.get(cat) ?? 0) + us);
    const key = `${functionName || '(anonymous)'}  ${url ? url.replace(/^.*\/(node_modules|dist)\//, '$1/') : ''}:${lineNumber + 1}`;
    byFn.set(key, (byFn.get(key) ?? 0) + us);
  }
  const perJob = (us) => (us / N).toFixed(2).padStart(7);
  console.log(
    `\nbusy CPU ${(total / 1000).toFixed(0)} ms = ${(total / N).toFixed(1)} µs/job (profiler on; N=${N}, c=${CONCURRENCY}, ${RAW ? 'raw BullMQ' : 'rqctl worker'})`,
  );
  console.log('\nper package (µs/job):');
  for (const [k, v] of [...byCat].sort((a, b) => b[1] - a[1])) console.log(`  ${perJob(v)}  ${k}`);
  console.log('\ntop functions by self time (µs/job):');
  for (const [k, v] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, 40)) console.log(`  ${perJob(v)}  ${k}`);
}

/** Self time per function (µs) while jobs complete, and that window's length. */
function jobWindow(dir) {
  const prof = JSON.parse(
    readFileSync(
      join(
        dir,
        readdirSync(dir).find((f) => f.endsWith('.cpuprofile')),
      ),
      'utf8',
    ),
  );
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const finishing = (id) => {
    for (let x = id; x !== undefined; x = parent.get(x)) if (byId.get(x).callFrame.functionName === 'moveToFinished') return true;
    return false;
  };
  let first = -1;
  let last = -1;
  prof.samples.forEach((id, i) => {
    if (!finishing(id)) return;
    if (first < 0) first = i;
    last = i;
  });
  const self = new Map();
  let total = 0;
  for (let i = first; i >= 0 && i <= last; i++) {
    const { functionName, url, lineNumber } = byId.get(prof.samples[i]).callFrame;
    if (functionName === '(idle)') continue;
    const us = prof.timeDeltas[i + 1] ?? 0;
    const key = `${functionName || '(anonymous)'}  ${url ? url.replace(/^.*\/(node_modules|dist)\//, '$1/') : ''}:${lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + us);
    total += us;
  }
  return { self, total };
}

if (process.argv.includes('--compare')) {
  const i = process.argv.indexOf('--compare');
  const [a, b] = [jobWindow(process.argv[i + 1]), jobWindow(process.argv[i + 2])];
  const perJob = (us) => (us / N).toFixed(2).padStart(7);
  console.log(`busy CPU while jobs complete, µs/job: ${perJob(a.total)} → ${perJob(b.total)} (N=${N})\n\n  second − first    first   second  function`);
  const rows = [...new Set([...a.self.keys(), ...b.self.keys()])].map((k) => [k, a.self.get(k) ?? 0, b.self.get(k) ?? 0]);
  rows.sort((x, y) => y[2] - y[1] - (x[2] - x[1]));
  for (const [k, x, y] of [...rows.slice(0, 30), ...rows.slice(-8)]) console.log(`  ${perJob(y - x)}      ${perJob(x)}  ${perJob(y)}  ${k}`);
  process.exit(0);
}

const redis = await BenchRedis.start();
const profDir = arg('keep', mkdtempSync(join(tmpdir(), 'rqctl-prof-')));
try {
  const { resolveConfig } = await dist('config/resolve.js');
  const config = await resolveConfig({ env: { PATH: process.env.PATH, REDIS_URL: redis.url() }, cwd: mkdtempSync(join(tmpdir(), 'rqctl-prof-cwd-')) });
  const { registerJobType } = await dist('jobs/registry.js');
  for (const t of (await import(pathToFileURL(join(ROOT, 'bench/jobs/noop.mjs')).href)).default) registerJobType({ ...t });
  const { dispatchBulk } = await dist('jobs/dispatch.js');
  for (let i = 0; i < N; i += 1000)
    await dispatchBulk(
      config,
      Array.from({ length: Math.min(1000, N - i) }, (_, j) => ({ job: 'BenchNoop', data: { i: i + j } })),
    );
  const node = [process.execPath, '--cpu-prof', '--cpu-prof-dir', profDir];
  const logFile = join(profDir, 'worker.log');
  const p = RAW
    ? startBackground(node[0], [...node.slice(1), join(ROOT, 'bench/raw/worker.mjs'), redis.url(), QUEUE, String(CONCURRENCY)], { env: cleanEnv() })
    : startBackground(node[0], [...node.slice(1), join(ROOT, 'bin/rqctl.js'), 'worker', '--queue', QUEUE, '--concurrency', String(CONCURRENCY)], {
        env: cleanEnv({ REDIS_URL: redis.url(), RQCTL_EXTRA_JOBS: join(ROOT, 'bench/jobs/noop.mjs') }),
        stdoutFile: logFile,
      });
  const c = redis.client();
  const statsBefore = commandStats(await c.info('commandstats'));
  const t0 = performance.now();
  await waitUntil('the queue to drain', async () => (await c.llen(`bull:${QUEUE}:wait`)) === 0 && (await c.llen(`bull:${QUEUE}:active`)) === 0, {
    timeoutMs: 600_000,
    everyMs: 50,
  });
  const s = (performance.now() - t0) / 1000;
  console.log(`drained ${N} jobs in ${s.toFixed(1)} s (${Math.round(N / s)} jobs/s, profiler on)`);
  const statsAfter = commandStats(await c.info('commandstats'));
  console.log('Redis commands per job (INFO commandstats):');
  for (const [cmd, n] of [...statsAfter]
    .map(([k, v]) => [k, v - (statsBefore.get(k) ?? 0)])
    .filter(([, v]) => v / N >= 0.01)
    .sort((a, b) => b[1] - a[1]))
    console.log(`  ${(n / N).toFixed(2).padStart(6)}  ${cmd}`);
  c.disconnect();
  await p.stop();
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  summarise(join(profDir, file));
} finally {
  await redis.stop();
  if (!process.argv.includes('--keep')) rmSync(profDir, { recursive: true, force: true });
}
