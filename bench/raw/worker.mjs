// The raw baseline of the worker rows: a plain BullMQ Worker with a no-op processor.
//   node bench/raw/worker.mjs <redis-url> <queue> <concurrency>
// Runs until SIGTERM, then closes gracefully like rqctl's worker.
import { Worker } from 'bullmq';

const [url, queue, concurrency] = process.argv.slice(2);
const u = new URL(url);
const connection = { host: u.hostname, port: Number(u.port), db: Number(u.pathname.slice(1) || 0), maxRetriesPerRequest: null };
const worker = new Worker(queue, async () => null, { connection, concurrency: Number(concurrency), prefix: 'bull' });
worker.on('error', (e) => process.stderr.write(`worker error: ${e.message}\n`));
process.once('SIGTERM', async () => {
  await worker.close();
  process.exitCode = 0;
});
