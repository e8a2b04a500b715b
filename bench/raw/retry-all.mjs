// The raw baseline of the retry-all row: BullMQ's own server-side bulk retry.
//   node bench/raw/retry-all.mjs <redis-url> <queue>
import { Queue } from 'bullmq';

const [url, name] = process.argv.slice(2);
const u = new URL(url);
const queue = new Queue(name, { connection: { host: u.hostname, port: Number(u.port), db: Number(u.pathname.slice(1) || 0) }, prefix: 'bull' });
await queue.retryJobs({ state: 'failed', count: 1000 });
await queue.close();
