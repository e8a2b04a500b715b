// bench/raw/worker.mjs with rqctl's fix for ioredis' subclass of String put in first
// (src/redis/verbatim-string.ts): what the same fix gives a bare BullMQ worker (row worker-c50-floor).
//   node bench/raw/worker-fixed.mjs <redis-url> <queue> <concurrency>
const { installVerbatimString } = await import('../../dist/redis/verbatim-string.js');
if (!installVerbatimString()) throw new Error('the fix for ioredis VerbatimString did not apply');
await import('./worker.mjs');
