#!/usr/bin/env node
// Benchmark (not a test): `rqctl failed retry all` on N failed jobs (default 100,000) against raw
// BullMQ `queue.retryJobs({state: 'failed'})`, in the same run, on a redis-server this script starts
// on 127.0.0.1 and a free port. Both sides run as a fresh `node` process (start-up, module loading
// and connection included); peak RSS is each process's own `process.resourceUsage().maxRSS`.
//
//   npm run build && node bench/retry-all.js            # N=100000, 3 rounds
//   N=20000 ROUNDS=5 node bench/retry-all.js
//
// Prints one JSON document: medians of each side, the ratio rqctl/raw, and peak RSS in MB.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const N = Number(process.env.N ?? 100_000);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const QUEUE = 'default';

async function freePort() {
  for (;;) {
    const port = await new Promise((res, rej) => {
      const s = createServer();
      s.on('error', rej);
      s.listen(0, '127.0.0.1', () => {
        const { port } = s.address();
        s.close(() => res(port));
      });
    });
    if (port !== 6379) return port;
  }
}

async function startRedis() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'rqctl-bench-'));
  const proc = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--maxmemory-policy', 'noeviction'],
    { stdio: 'ignore' },
  );
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null });
  client.on('error', () => {});
  for (let i = 0; ; i++) {
    try {
      await client.connect();
      break;
    } catch (e) {
      if (i > 50) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    port,
    client,
    async stop() {
      client.disconnect();
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** N jobs failed by a real BullMQ Worker whose processor throws (like a provider answering 500). */
async function fillFailed(port, n) {
  const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
  const queue = new Queue(QUEUE, { connection });
  const waiting = await queue.getJobCountByTypes('waiting');
  if (waiting === 0) {
    for (let i = 0; i < n; i += 5000) {
      const batch = [];
      for (let j = i; j < Math.min(n, i + 5000); j++) {
        batch.push({ name: 'FetchStockData', data: { method: 'getStockQuote', params: { symbol: `S${j}` } }, opts: { attempts: 1, removeOnFail: false } });
      }
      await queue.addBulk(batch);
    }
  }
  const worker = new Worker(
    QUEUE,
    async () => {
      throw new Error('Finnhub HTTP 500: Internal Server Error');
    },
    { connection, concurrency: 500, autorun: true },
  );
  for (;;) {
    const c = await queue.getJobCounts('failed', 'waiting', 'active');
    if (c.failed >= n && c.waiting === 0 && c.active === 0) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  await worker.close();
  await queue.close();
}

const RSS_PRELOAD = `process.on('exit', () => { require('node:fs').writeSync(2, '\\n@@maxrss ' + process.resourceUsage().maxRSS + '\\n'); });`;

function runNode(args, env = {}) {
  return new Promise((res, rej) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { PATH: process.env.PATH, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', rej);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const m = /@@maxrss (\d+)/.exec(err);
      if (code !== 0) return rej(new Error(`exit ${code}: ${err}`));
      res({ ms, maxRssMb: m ? Number(m[1]) / 1024 : null, out });
    });
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main() {
  const redis = await startRedis();
  const dir = mkdtempSync(join(tmpdir(), 'rqctl-bench-js-'));
  const preload = join(dir, 'rss.cjs');
  writeFileSync(preload, RSS_PRELOAD);
  const raw = join(dir, 'raw.mjs');
  writeFileSync(
    raw,
    `import { createRequire } from 'node:module';
const { Queue } = createRequire(${JSON.stringify(join(ROOT, 'package.json'))})('bullmq');
const q = new Queue(${JSON.stringify(QUEUE)}, { connection: { host: '127.0.0.1', port: ${redis.port}, maxRetriesPerRequest: 1, enableOfflineQueue: false } });
await q.retryJobs({ state: 'failed' });
await q.close();`,
  );
  const results = { rqctl: [], raw: [] };
  try {
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate who goes first: the machine warms up and drifts.
      const order = round % 2 === 0 ? ['rqctl', 'raw'] : ['raw', 'rqctl'];
      for (const who of order) {
        await fillFailed(redis.port, N);
        const failed = await redis.client.zcard(`bull:${QUEUE}:failed`);
        const r =
          who === 'rqctl'
            ? await runNode(['-r', preload, 'bin/rqctl.js', 'failed', 'retry', 'all', '--json'], { REDIS_URL: `redis://127.0.0.1:${redis.port}/0` })
            : await runNode(['-r', preload, raw]);
        const left = await redis.client.zcard(`bull:${QUEUE}:failed`);
        const waiting = await redis.client.llen(`bull:${QUEUE}:wait`);
        if (left !== 0 || waiting !== failed) throw new Error(`${who}: ${failed} failed before, ${left} after, ${waiting} waiting`);
        if (who === 'rqctl' && JSON.parse(r.out).retried !== failed) throw new Error(`rqctl reported ${r.out.trim()} for ${failed}`);
        results[who].push(r);
        process.stderr.write(`round ${round + 1} ${who}: ${Math.round(r.ms)} ms, peak RSS ${r.maxRssMb?.toFixed(1)} MB (${failed} jobs)\n`);
      }
    }
  } finally {
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const m = (who, k) => median(results[who].map((r) => r[k]));
  const summary = {
    benchmark: 'failed retry all',
    jobs: N,
    rounds: ROUNDS,
    rqctlMs: Math.round(m('rqctl', 'ms')),
    rawMs: Math.round(m('raw', 'ms')),
    ratio: Number((m('rqctl', 'ms') / m('raw', 'ms')).toFixed(2)),
    rqctlPeakRssMb: Number(Math.max(...results.rqctl.map((r) => r.maxRssMb ?? 0)).toFixed(1)),
    rawPeakRssMb: Number(Math.max(...results.raw.map((r) => r.maxRssMb ?? 0)).toFixed(1)),
    targets: { ratio: '≤ 1.2', peakRssMb: '≤ 200' },
  };
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
}

main().catch((e) => {
  process.stderr.write(`${e.stack ?? e}\n`);
  process.exitCode = 1;
});
