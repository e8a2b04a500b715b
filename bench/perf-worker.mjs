#!/usr/bin/env node
// Where a worker's CPU goes per job, every thread counted: `perf record -e cpu-clock` on worker
// processes running the worker rows' 100,000 no-op jobs (bench/rows/worker.mjs: the same queue, the
// worker waiting before the jobs appear), from the first job taken to the queue empty. Node runs
// with --perf-basic-prof, so JavaScript shows by function; beside it what `--cpu-prof` cannot see:
// V8's builtins and inline caches, the optimising compiler's and the collector's threads, libc and
// the kernel (the log writes, the sockets).
//
//   npm run build && node bench/perf-worker.mjs [--processes 1] [--concurrency 50] [--top 30] '<variants>'
//
// <variants> as bench/ab-worker.mjs takes them, e.g. '{"raw":{"raw":true},"rqctl":{}}'. Prints µs
// per job by category for each variant, then the symbols that differ most between the first variant
// and each other one. Needs perf(1) (Debian: linux-perf). One run per variant: samples are every
// 0.2 ms of CPU, so a category under ~0.1 µs/job is noise; run twice before believing a difference.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBackground, waitUntil } from './lib/proc.mjs';
import { copyDb } from './lib/queue.mjs';
import { cleanEnv, hasCommand } from './lib/env.mjs';
import { takeNumbers, variantCommand } from './lib/variants.mjs';
import { fillQueue, QUEUE } from './rows/worker.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const { processes, concurrency, top } = takeNumbers(argv, { processes: 1, concurrency: 50, top: 30 });
if (argv.length !== 1) {
  process.stderr.write('usage: node bench/perf-worker.mjs [--processes 1] [--concurrency 50] [--top 30] \'{"raw":{"raw":true},"rqctl":{}}\'\n');
  process.exit(2);
}
try {
  execFileSync('perf', ['--version'], { stdio: 'ignore' });
} catch {
  process.stderr.write('perf(1) is not installed (Debian: apt-get install linux-perf)\n');
  process.exit(2);
}
const variants = Object.entries(JSON.parse(argv[0]));
const HZ = 4999;

/** What a sampled symbol is: JavaScript by package, or the part of V8/Node/the system it belongs to. */
function category(dso, sym) {
  if (dso.startsWith('[JIT]')) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(sym);
    if (m) return `js ${m[1]}`;
    if (sym.includes('/dist/') || sym.includes('/bench/')) return 'js rqctl';
    if (/ node:/.test(sym)) return 'js node';
    return 'js other';
  }
  if (dso.startsWith('[kernel')) return 'kernel';
  if (dso.startsWith('libc')) return 'libc';
  if (/compiler::|turboshaft|maglev/.test(sym)) return 'v8 compiler';
  if (/Scaveng|MarkCompact|Heap::|Marking|Sweeper|Evacuat|heap::/.test(sym)) return 'v8 gc';
  if (/^Builtins_(Keyed)?(Load|Store)(Global)?IC/.test(sym)) return 'v8 inline caches';
  if (sym.startsWith('Builtins_')) return 'v8 builtins';
  if (sym.includes('v8::')) return 'v8 runtime';
  if (/node::|uv_|uv__/.test(sym)) return 'node c++';
  return 'other';
}

/** Samples per (dso, symbol) of one perf.data. */
function samples(file) {
  const out = execFileSync('perf', ['report', '-i', file, '-n', '--sort', 'dso,sym', '--stdio'], {
    encoding: 'utf8',
    maxBuffer: 256 << 20,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const bySym = new Map();
  for (const line of out.split('\n')) {
    const m = /^\s*[\d.]+%\s+(\d+)\s+(\[JIT\] tid \d+|\S+)\s+\[.\]\s+(.*)$/.exec(line);
    if (!m) continue;
    const dso = m[2].startsWith('[JIT]') ? '[JIT]' : m[2];
    const key = `${dso}\t${m[3].trim()}`;
    bySym.set(key, (bySym.get(key) ?? 0) + Number(m[1]));
  }
  return bySym;
}

async function record(state, name, v, dir) {
  const c = state.redis.client();
  try {
    await copyDb(c, 15, 13);
    await c.select(0);
    await c.flushdb();
    const ps = Array.from({ length: processes }, (_, i) => {
      const cmd = variantCommand(ROOT, v, { redisUrl: state.redis.url(), queue: QUEUE, concurrency, name: `perf-${name}-${i}` });
      return startBackground(process.execPath, ['--perf-basic-prof', ...cmd.args], {
        env: cleanEnv(cmd.env),
        ...(cmd.logged ? { stdoutFile: join(dir, `${name}-${i}.log`) } : {}),
      });
    });
    const pids = ps.map((p) => p.child.pid);
    try {
      await waitUntil(
        `${processes} worker(s) waiting for jobs`,
        async () => (await c.client('LIST')).split('\n').filter((l) => / cmd=bzpopmin/.test(l)).length >= processes,
        { timeoutMs: 60_000, everyMs: 10 },
      );
      const file = join(dir, `${name}.perf`);
      const perf = spawn('perf', ['record', '-q', '-e', 'cpu-clock', '-F', String(HZ), '-p', pids.join(','), '-o', file], { stdio: 'ignore' });
      await new Promise((r) => setTimeout(r, 300));
      await c.swapdb(0, 13);
      await waitUntil(`${state.n} jobs to finish`, async () => (await c.llen(`bull:${QUEUE}:wait`)) === 0 && (await c.llen(`bull:${QUEUE}:active`)) === 0, {
        timeoutMs: 600_000,
        everyMs: 20,
      });
      perf.kill('SIGINT');
      await new Promise((r) => perf.on('close', r));
      return samples(file);
    } finally {
      await Promise.all(ps.map((p) => p.stop()));
      for (const pid of pids) rmSync(`/tmp/perf-${pid}.map`, { force: true });
    }
  } finally {
    c.disconnect();
  }
}

if (!hasCommand({ bin: join(ROOT, 'bin/rqctl.js') }, ['worker'])) {
  process.stderr.write('build first: npm run build\n');
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), 'rqctl-perf-'));
const state = await fillQueue({ root: ROOT, quick: false }, 'bench/jobs/noop.mjs', 'BenchNoop');
const runs = [];
try {
  for (const [name, v] of variants) runs.push([name, await record(state, name, v, dir)]);
} finally {
  await state.redis.stop();
  rmSync(dir, { recursive: true, force: true });
}

const usPerJob = (n) => (n * 1e6) / HZ / state.n;
const fmt = (x) => x.toFixed(2).padStart(8);
const byCat = runs.map(([, s]) => {
  const m = new Map();
  for (const [k, n] of s) {
    const [dso, sym] = k.split('\t');
    const cat = category(dso, sym);
    m.set(cat, (m.get(cat) ?? 0) + n);
  }
  return m;
});
const cats = [...new Set(byCat.flatMap((m) => [...m.keys()]))].sort((a, b) => (byCat.at(-1).get(b) ?? 0) - (byCat.at(-1).get(a) ?? 0));
console.log(`CPU per job (µs, all threads; ${state.n} jobs, ${processes} process(es) × concurrency ${concurrency}):\n`);
console.log(`${''.padEnd(20)}${runs.map(([n]) => n.slice(0, 8).padStart(8)).join('')}`);
for (const cat of cats) console.log(`${cat.padEnd(20)}${byCat.map((m) => fmt(usPerJob(m.get(cat) ?? 0))).join('')}`);
console.log(`${'total'.padEnd(20)}${runs.map(([, s]) => fmt(usPerJob([...s.values()].reduce((a, b) => a + b, 0)))).join('')}`);

const [baseName, base] = runs[0];
for (const [name, s] of runs.slice(1)) {
  console.log(`\n${name} − ${baseName}, µs/job (symbols that differ most):`);
  const keys = [...new Set([...base.keys(), ...s.keys()])].map((k) => [k, usPerJob((s.get(k) ?? 0) - (base.get(k) ?? 0))]);
  keys.sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]));
  for (const [k, d] of keys.slice(0, top)) {
    const [dso, sym] = k.split('\t');
    console.log(
      `${(d >= 0 ? '+' : '') + d.toFixed(2)}`.padStart(8) +
        `  ${category(dso, sym).padEnd(17)} ${sym.replace(/file:\/\/|\/\S*\/node_modules\//g, '').slice(0, 110)}`,
    );
  }
}
