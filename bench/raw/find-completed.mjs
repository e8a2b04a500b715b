// The raw baseline of the jobs-find row: the leanest loop that answers the same question — ZRANGE a
// page of ids (newest first), HGETALL them in one pipeline, JSON.parse the data, compare the symbol —
// printing the match count and the newest 100 matches as one JSON document.
//   node bench/raw/find-completed.mjs <redis-url> <queue> <symbol>
import { Redis } from 'ioredis';

const [url, queue, symbol] = process.argv.slice(2);
const redis = new Redis(url);
const key = `bull:${queue}:completed`;
const jobs = [];
let total = 0;
for (let start = 0; ; start += 1000) {
  const ids = await redis.zrange(key, start, start + 999, 'REV');
  if (ids.length === 0) break;
  const pipe = redis.pipeline();
  for (const id of ids) pipe.hgetall(`bull:${queue}:${id}`);
  const replies = await pipe.exec();
  replies.forEach(([err, hash], i) => {
    if (err || !hash.data) return;
    const data = JSON.parse(hash.data);
    if (data?.params?.symbol !== symbol) return;
    total++;
    if (jobs.length < 100) jobs.push({ id: ids[i], name: hash.name, data, finishedOn: Number(hash.finishedOn) });
  });
  if (ids.length < 1000) break;
}
process.stdout.write(`${JSON.stringify({ total, jobs })}\n`);
redis.disconnect();
