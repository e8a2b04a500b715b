// The floor of the worker rows (BENCHMARKS.md, row worker-c50-floor): a plain BullMQ Worker with a
// no-op processor, configured as `rqctl worker` configures its own (docs/worker.md): BullMQ's
// per-minute metrics kept two weeks (the dashboard's charts), the worker's name (bull-board's
// "processed by"), the lock, stall and drain settings and the fallback retention; and the two lines
// rqctl logs per job (`processing`, `processed`), the same text, built from one template each (the
// time text from the current second's) and written in batches every 25 ms, the way rqctl writes them. What it costs over
// bench/raw/worker.mjs is what a BullMQ worker pays for what rqctl must do, before any code of
// rqctl's own.
//   node bench/raw/worker-configured.mjs <redis-url> <queue> <concurrency>
// With BENCH_LINES=0 in the environment, without the two lines (the options' cost alone).
import { MetricsTime, Worker } from 'bullmq';

const [url, queue, concurrency] = process.argv.slice(2);
const lines = process.env.BENCH_LINES !== '0';
const u = new URL(url);
const connection = { host: u.hostname, port: Number(u.port), db: Number(u.pathname.slice(1) || 0), maxRetriesPerRequest: null };

// The lines go into a buffer as they are made and the buffer is written every 25 ms (or 64 KB), as
// rqctl's logger does (src/cli/render.ts: a line kept as a string until a later join is cache-cold).
let pending = Buffer.alloc(0);
let used = 0;
let timer;
const flush = () => {
  if (timer) clearTimeout(timer);
  timer = undefined;
  if (used === 0) return;
  const text = pending.subarray(0, used);
  pending = Buffer.alloc(0);
  used = 0;
  process.stdout.write(text);
};
const log = (line) => {
  if (used + line.length * 3 > pending.length) {
    flush();
    pending = Buffer.allocUnsafe(128 * 1024);
  }
  used += pending.write(line, used);
  if (used >= 64 * 1024) flush();
  else timer ??= setTimeout(flush, 25);
};
// The time text: the current second's text, made once per second, and the milliseconds (as rqctl
// does: src/cli/log-time.ts; Date#toISOString is costly).
let second = NaN;
let secondText = '';
const isoNow = () => {
  const now = Date.now();
  const s = Math.floor(now / 1000);
  if (s !== second) {
    second = s;
    secondText = new Date(s * 1000).toISOString().slice(0, -4);
  }
  const ms = now - s * 1000;
  return `${secondText}${ms < 100 ? (ms < 10 ? '00' : '0') : ''}${ms}Z`;
};

const worker = new Worker(
  queue,
  async (job) => {
    if (lines)
      log(
        `{"time":"${isoNow()}","level":"info","event":"processing","msg":"${job.name} #${job.id}","queue":"${queue}","job":"${job.name}","id":"${job.id}","attempt":${job.attemptsMade + 1}}\n`,
      );
    return null;
  },
  {
    connection,
    concurrency: Number(concurrency),
    prefix: 'bull',
    name: `bench-${process.pid}`,
    drainDelay: 3,
    lockDuration: 30_000,
    stalledInterval: 30_000,
    removeOnComplete: { age: 24 * 3600, count: 10_000 },
    removeOnFail: { age: 30 * 24 * 3600, count: 100_000 },
    metrics: { maxDataPoints: MetricsTime.TWO_WEEKS },
  },
);
worker.on('completed', (job) => {
  if (!lines) return;
  // The processor's duration from BullMQ's own start time (ms): no per-job structure of the worker's.
  const durationMs = Date.now() - job.processedOn;
  log(
    `{"time":"${isoNow()}","level":"info","event":"processed","msg":"${job.name} #${job.id}","queue":"${queue}","job":"${job.name}","id":"${job.id}","durationMs":${durationMs}}\n`,
  );
});
worker.on('error', (e) => process.stderr.write(`worker error: ${e.message}\n`));
process.once('SIGTERM', async () => {
  await worker.close();
  flush();
  process.exitCode = 0;
});
