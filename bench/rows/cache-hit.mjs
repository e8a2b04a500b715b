// Cache hits (BENCHMARKS.md): reading a cached value through rqctl (readCacheValue, the hit path of
// `rqctl cache get`: the bytes as stored, never parsed and re-serialised) vs a raw ioredis GET,
// 100 reads in flight, in one process, alternating. 2 KB (a quote) and 200 KB (a market list).
import { BenchRedis } from '../lib/redis.mjs';
import { benchConfig, importDist, inFlight } from '../lib/rqctl.mjs';
import { distHas, missing } from '../lib/env.mjs';

const CACHE_DB = 1;

function jsonOfSize(bytes) {
  // A provider-like JSON body, exactly `bytes` long.
  const item = '{"symbol":"AAPL","c":189.84,"d":1.23,"dp":0.65,"h":190.32,"l":187.6,"o":188.1,"pc":188.61,"t":1700000000},';
  let s = '[';
  while (s.length + item.length + 1 <= bytes) s += item;
  s = s.replace(/,$/, '') + ']';
  return s.padEnd(bytes, ' ');
}

function makeRow({ id, title, size, total }) {
  return {
    id,
    title,
    measure: `GET of a ${size >= 1024 * 100 ? '200 KB' : '2 KB'} cached value, 100 in flight: rqctl readCacheValue vs raw ioredis get`,
    kind: 'rate',
    unit: 'reads',
    target: 0.9,
    rounds: { full: 7, quick: 2 },
    warmup: true,
    n: (ctx) => (ctx.quick ? total.quick : total.full),
    unavailable: (ctx) => (!distHas(ctx, 'cache/values.js') ? missing('src/cache/values.ts readCacheValue') : undefined),
    async setup(ctx) {
      const redis = await BenchRedis.start();
      const config = await benchConfig(ctx, { REDIS_URL: redis.url(0), REDIS_CACHE_DB: String(CACHE_DB) });
      const { connectRole, closeClient } = await importDist(ctx, 'redis/connect.js');
      const { readCacheValue } = await importDist(ctx, 'cache/values.js');
      const client = await connectRole(config, 'cache');
      const raw = redis.client(CACHE_DB);
      const key = 'stock_quote_0123456789abcdef0123456789abcdef';
      const value = jsonOfSize(size);
      await raw.set(key, value, 'EX', 1200);
      // Both sides must read the same bytes.
      const got = await readCacheValue(client, config, key);
      if (!got.value.equals(Buffer.from(value))) throw new Error('rqctl read different bytes than were stored');
      return { redis, config, client, raw, key, readCacheValue, closeClient, n: ctx.quick ? total.quick : total.full };
    },
    async teardown(s) {
      if (!s) return;
      await s.closeClient(s.client);
      s.raw.disconnect();
      await s.redis.stop();
    },
    subjects: [
      { name: 'raw', baseline: true, run: async (s, _ctx, { warmup }) => ({ value: await inFlight(warmup ? s.n / 10 : s.n, 100, () => s.raw.get(s.key)) }) },
      {
        name: 'rqctl',
        run: async (s, _ctx, { warmup }) => ({ value: await inFlight(warmup ? s.n / 10 : s.n, 100, () => s.readCacheValue(s.client, s.config, s.key)) }),
      },
    ],
  };
}

export const cacheHit2k = makeRow({ id: 'cache-hit', title: 'cache hit 2 KB', size: 2 * 1024, total: { full: 200_000, quick: 20_000 } });
export const cacheHit200k = makeRow({ id: 'cache-hit-large', title: 'large cache hit 200 KB', size: 200 * 1024, total: { full: 10_000, quick: 1_000 } });
