// Stand-in for `redis-cli --scan --count 1000` where redis-cli is older than 7.2 (no --count): the
// leanest Node loop, SCAN COUNT 1000 and one write of the batch's keys per step.
//   node bench/raw/scan-print.mjs <redis-url>
import { Redis } from 'ioredis';

const redis = new Redis(process.argv[2]);
let cursor = '0';
do {
  const [next, keys] = await redis.scanBuffer(cursor, 'COUNT', 1000);
  cursor = String(next);
  if (keys.length && !process.stdout.write(Buffer.concat(keys.flatMap((k) => [k, Buffer.from('\n')])))) {
    await new Promise((r) => process.stdout.once('drain', r));
  }
} while (cursor !== '0');
redis.disconnect();
