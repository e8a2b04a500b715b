// The raw baseline of the cache-clear row: the loop everyone writes, SCAN MATCH + UNLINK per batch.
//   node bench/raw/scan-unlink.mjs <redis-url> <match>
import { Redis } from 'ioredis';

const [url, match] = process.argv.slice(2);
const redis = new Redis(url);
let cursor = '0';
let deleted = 0;
do {
  const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 1000);
  cursor = next;
  if (keys.length) deleted += await redis.unlink(...keys);
} while (cursor !== '0');
process.stdout.write(`${JSON.stringify({ deleted })}\n`);
redis.disconnect();
