#!/usr/bin/env node
/**
 * Benchmarks of the inspection commands against the raw library in the same run (BENCHMARKS.md):
 *   key scan:    `rqctl keys` vs a raw ioredis SCAN COUNT 1000 loop (and `redis-cli --scan`)
 *   cache clear: `rqctl cache clear --prefix` vs a raw SCAN + UNLINK loop, with a PING probe and
 *                Redis' own LATENCY/SLOWLOG records for the stall figure.
 * Runs alternate (rqctl, raw, rqctl, raw…) so machine noise hits both; medians and ratios are
 * printed as JSON. Starts its own redis-server on 127.0.0.1 and a free port; needs a built dist/.
 *
 *   node bench/inspect.mjs [--keys 1000000] [--runs 3]
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';

const ROOT = resolve(fileURLToPath(import.meta.url), '../..');
const BIN = join(ROOT, 'bin', 'rqctl.js');
const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const N = arg('--keys', 1_000_000);
const RUNS = arg('--runs', 3);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const port = await new Promise((r) => {
  const s = createServer();
  s.listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => r(p));
  });
});
const dir = mkdtempSync(join(tmpdir(), 'rqctl-bench-'));
const server = spawn(
  'redis-server',
  [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--dir',
    dir,
    '--latency-monitor-threshold',
    '2',
    '--slowlog-log-slower-than',
    '1000',
    '--slowlog-max-len',
    '100000',
  ],
  { stdio: 'ignore' },
);
const admin = new Redis({ port, lazyConnect: true, retryStrategy: (t) => (t > 50 ? null : 100) });
for (let i = 0; ; i++) {
  try {
    await admin.connect();
    break;
  } catch (e) {
    if (i > 50) throw e;
    await new Promise((r) => setTimeout(r, 100));
  }
}
const env = { ...process.env, REDIS_URL: `redis://127.0.0.1:${port}/0`, REDIS_CACHE_DB: '1', NO_COLOR: '1' };

/** Fills DB `db` with N keys `prefix<i>` through redis-cli --pipe (the fastest loader). */
function fill(db, prefix) {
  const chunks = [`*2\r\n$6\r\nSELECT\r\n$${String(db).length}\r\n${db}\r\n`];
  for (let i = 0; i < N; i++) {
    const k = `${prefix}${i.toString(16).padStart(32, '0')}`;
    chunks.push(`*3\r\n$3\r\nSET\r\n$${k.length}\r\n${k}\r\n$2\r\n{}\r\n`);
  }
  const r = spawnSync('redis-cli', ['-p', String(port), '--pipe'], { input: chunks.join(''), maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`fill failed: ${r.stderr}`);
}

/** Runs a command, counting stdout bytes/lines without keeping them; returns wall ms and peak RSS (KB). */
function timed(cmd, args, extraEnv = {}) {
  return new Promise((resolvePromise, reject) => {
    const t0 = performance.now();
    const child = spawn('/usr/bin/time', ['-f', '%M', cmd, ...args], { env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    let lines = 0;
    let stderr = '';
    let stdout = '';
    child.stdout.on('data', (d) => {
      for (const b of d) if (b === 10) lines++;
      if (stdout.length < 4096) stdout += d;
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - t0;
      const rss = Number(stderr.trim().split('\n').pop());
      if (code !== 0) reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr}`));
      else resolvePromise({ ms, rssKb: rss, lines, stdout });
    });
  });
}

/** PING every ~2 ms on its own connection until stopped; returns the slowest round trip. */
function probe() {
  const c = new Redis({ port });
  let stop = false;
  let max = 0;
  let n = 0;
  const done = (async () => {
    while (!stop) {
      const t = performance.now();
      await c.ping();
      max = Math.max(max, performance.now() - t);
      n++;
      await new Promise((r) => setTimeout(r, 2));
    }
    c.disconnect();
  })();
  return async () => {
    stop = true;
    await done;
    return { maxPingMs: Math.round(max * 100) / 100, pings: n };
  };
}

async function serverStalls() {
  const latest = await admin.call('LATENCY', 'LATEST');
  const slow = await admin.call('SLOWLOG', 'GET', '100000');
  await admin.call('LATENCY', 'RESET');
  await admin.call('SLOWLOG', 'RESET');
  const worstCommandUs = Math.max(0, ...slow.map((e) => Number(e[2])));
  return { latencyLatestMs: Object.fromEntries(latest.map((e) => [e[0], Number(e[2])])), slowlogOver1ms: slow.length, slowestCommandMs: worstCommandUs / 1000 };
}

const rawScan = `
import { Redis } from 'ioredis';
const r = new Redis({ port: ${port}, db: 3 });
let c = '0';
do { const [n, keys] = await r.scanBuffer(c, 'COUNT', 1000); c = n.toString(); let s = ''; for (const k of keys) s += k.toString('latin1') + '\\n'; if (!process.stdout.write(s)) await new Promise((ok) => process.stdout.once('drain', ok)); } while (c !== '0');
r.disconnect();`;
const rawClear = `
import { Redis } from 'ioredis';
const r = new Redis({ port: ${port}, db: 1 });
let c = '0', n = 0;
do { const [next, keys] = await r.scanBuffer(c, 'MATCH', 'stock_quote_*', 'COUNT', 1000); c = next.toString(); if (keys.length) n += await r.unlink(...keys); } while (c !== '0');
console.log(n);
r.disconnect();`;

const results = { keys: N, runs: RUNS, scan: { rqctl: [], raw: [], redisCli: [] }, clear: { rqctl: [], raw: [] } };
try {
  fill(3, 'key:');
  for (let i = 0; i < RUNS; i++) {
    const a = await timed(process.execPath, [BIN, 'keys', '--db', '3']);
    const b = await timed(process.execPath, ['--input-type=module', '-e', rawScan], {});
    const c = await timed('redis-cli', ['-p', String(port), '-n', '3', '--scan']);
    if (a.lines !== N || b.lines !== N) throw new Error(`line counts: rqctl ${a.lines}, raw ${b.lines}, expected ${N}`);
    results.scan.rqctl.push(a);
    results.scan.raw.push(b);
    results.scan.redisCli.push(c);
  }
  for (let i = 0; i < RUNS; i++) {
    fill(1, 'stock_quote_');
    await serverStalls();
    let stopProbe = probe();
    const a = await timed(process.execPath, [BIN, 'cache', 'clear', '--prefix', 'stock_quote_', '--yes', '--json']);
    const aProbe = await stopProbe();
    const aServer = await serverStalls();
    fill(1, 'stock_quote_');
    await serverStalls();
    stopProbe = probe();
    const b = await timed(process.execPath, ['--input-type=module', '-e', rawClear]);
    const bProbe = await stopProbe();
    const bServer = await serverStalls();
    results.clear.rqctl.push({ ...a, ...aProbe, ...aServer, result: JSON.parse(a.stdout) });
    results.clear.raw.push({ ...b, ...bProbe, ...bServer });
  }
  const summary = (runs) => ({ medianMs: Math.round(median(runs.map((r) => r.ms))), maxRssKb: Math.max(...runs.map((r) => r.rssKb)) });
  const out = {
    keys: N,
    runs: RUNS,
    scan: { rqctl: summary(results.scan.rqctl), rawIoredisCount1000: summary(results.scan.raw), redisCliScan: summary(results.scan.redisCli) },
    clear: {
      rqctl: {
        ...summary(results.clear.rqctl),
        maxPingMs: Math.max(...results.clear.rqctl.map((r) => r.maxPingMs)),
        slowestCommandMs: Math.max(...results.clear.rqctl.map((r) => r.slowestCommandMs)),
        slowlogOver1ms: median(results.clear.rqctl.map((r) => r.slowlogOver1ms)),
        unlinkCalls: results.clear.rqctl[0].result.unlinkCalls,
      },
      raw: {
        ...summary(results.clear.raw),
        maxPingMs: Math.max(...results.clear.raw.map((r) => r.maxPingMs)),
        slowestCommandMs: Math.max(...results.clear.raw.map((r) => r.slowestCommandMs)),
        slowlogOver1ms: median(results.clear.raw.map((r) => r.slowlogOver1ms)),
      },
    },
  };
  out.scan.ratioVsRaw = Math.round((out.scan.rqctl.medianMs / out.scan.rawIoredisCount1000.medianMs) * 100) / 100;
  out.clear.ratioVsRaw = Math.round((out.clear.rqctl.medianMs / out.clear.raw.medianMs) * 100) / 100;
  console.log(JSON.stringify(out, null, 2));
} finally {
  admin.disconnect();
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
}
