// Cache clear (BENCHMARKS.md): `rqctl cache clear --prefix` over 1,000,000 keys vs a raw SCAN + UNLINK
// loop (both processes), while a probe measures how long Redis makes other clients wait: a client
// sending PING after PING (largest round trip), and Redis' own latency monitor (largest event).
import { join } from 'node:path';
import { BenchRedis } from '../lib/redis.mjs';
import { runMeasured, mustSucceed } from '../lib/proc.mjs';
import { populate } from '../lib/fixtures.mjs';
import { cleanEnv, hasCommand, missing } from '../lib/env.mjs';

const CACHE_DB = 1;
const PREFIX = 'crypto_list_';
const OTHERS = 1000;

/** PING after PING on its own connection until stopped; the largest round trip, ms. */
function startProbe(redis) {
  const c = redis.client();
  let max = 0;
  let running = true;
  const done = (async () => {
    await c.ping();
    while (running) {
      const t = performance.now();
      await c.ping();
      max = Math.max(max, performance.now() - t);
      // ~1,000 probes a second: often enough to see a stall, cheap enough not to cause one.
      await new Promise((r) => setTimeout(r, 1));
    }
  })();
  return {
    async stop() {
      running = false;
      await done;
      c.disconnect();
      return max;
    },
  };
}

async function measured(state, run) {
  await state.client.call('LATENCY', 'RESET');
  const probe = startProbe(state.redis);
  let res;
  try {
    res = await run();
  } finally {
    state.lastProbe = await probe.stop();
  }
  const latest = await state.client.call('LATENCY', 'LATEST');
  const redisMax = Math.max(0, ...latest.map((row) => Number(row[3])));
  const [left, others] = await Promise.all([countKeys(state.client, `${PREFIX}*`), countKeys(state.client, 'stock_quote_*')]);
  if (left !== 0) throw new Error(`${left} keys under ${PREFIX} left after the clear`);
  if (others !== OTHERS) throw new Error(`the clear touched other keys: ${others} of ${OTHERS} left`);
  return { value: res.ms, extra: { probeMaxMs: state.lastProbe, redisMaxStallMs: redisMax, peakRssMb: res.peakRssMb } };
}

/** Distinct keys matching (SCAN may return a key twice while Redis rehashes). */
async function countKeys(c, match) {
  let cursor = '0';
  const seen = new Set();
  do {
    const [next, keys] = await c.scan(cursor, 'MATCH', match, 'COUNT', 5000);
    cursor = next;
    for (const k of keys) seen.add(k);
  } while (cursor !== '0');
  return seen.size;
}

export default {
  id: 'cache-clear',
  title: 'cache clear --prefix',
  measure: '`rqctl cache clear --prefix` over N keys vs raw SCAN+UNLINK (both processes), with a latency probe',
  kind: 'time',
  target: 1.2,
  extraTarget: 'no Redis stall > 10 ms',
  checkExtra: (e) => e !== undefined && e.redisMaxStallMs <= 10,
  rounds: { full: 3, quick: 1 },
  n: (ctx) => (ctx.quick ? 100_000 : 1_000_000),
  unavailable: (ctx) => (!hasCommand(ctx, ['cache', 'clear']) ? missing('rqctl cache clear') : undefined),
  async setup(ctx) {
    // Redis records any event of 1 ms or more; the probe sees what clients see.
    const redis = await BenchRedis.start({ args: ['--latency-monitor-threshold', '1'] });
    const client = redis.client(CACHE_DB);
    await populate(client, OTHERS, 'stock_quote_');
    return { redis, client, n: ctx.quick ? 100_000 : 1_000_000 };
  },
  async before(state) {
    await populate(state.client, state.n, PREFIX);
  },
  async teardown(state) {
    if (!state) return;
    state.client.disconnect();
    await state.redis.stop();
  },
  subjects: [
    {
      name: 'raw',
      baseline: true,
      run: (state, ctx) =>
        measured(state, async () =>
          mustSucceed(
            'raw SCAN+UNLINK',
            await runMeasured(process.execPath, [join(ctx.root, 'bench/raw/scan-unlink.mjs'), state.redis.url(CACHE_DB), `${PREFIX}*`], { env: cleanEnv() }),
          ),
        ),
    },
    {
      name: 'rqctl',
      run: (state, ctx) =>
        measured(state, async () => {
          const res = mustSucceed(
            'rqctl cache clear',
            await runMeasured(process.execPath, [ctx.bin, 'cache', 'clear', '--prefix', PREFIX, '--yes', '--json'], {
              env: cleanEnv({ REDIS_URL: state.redis.url(0), REDIS_CACHE_DB: String(CACHE_DB) }),
              keepStdout: true,
            }),
          );
          const out = JSON.parse(res.stdout);
          if (out.deleted !== state.n) throw new Error(`rqctl reported ${out.deleted} deleted, expected ${state.n}`);
          return res;
        }),
    },
  ],
};
