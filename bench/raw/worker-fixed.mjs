// bench/raw/worker.mjs with the process-level fixes every rqctl process makes before its dependencies
// load (src/cli/preload.ts: ioredis without its subclass of String, `process` and `Buffer` as data
// globals): what they give a bare BullMQ worker (row worker-c50-floor).
//   node bench/raw/worker-fixed.mjs <redis-url> <queue> <concurrency>
const { installVerbatimString } = await import('../../dist/redis/verbatim-string.js');
const { dataGlobals } = await import('../../dist/util/globals.js');
if (!installVerbatimString()) throw new Error('the fix for ioredis VerbatimString did not apply');
dataGlobals();
await import('./worker.mjs');
