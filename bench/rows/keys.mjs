// Key scan (BENCHMARKS.md): `rqctl keys` over 1,000,000 keys vs `redis-cli --scan --count 1000`, both
// streaming one key per line into a pipe. "Memory flat": rqctl's peak RSS over 2,000,000 keys is no
// more than over 1,000,000 (+ 25 MB). It is not compared with a tiny keyspace: V8 grows its heap
// lazily up to a plateau (measured: 83 MB at 10k keys, 123 MB at 300k, ~150 MB from 1M on), which
// is a constant, not growth with the keyspace. redis-cli older than 7.2
// has no --count (Debian 12 ships 7.0): then the baseline is bench/raw/scan-print.mjs, the same
// SCAN COUNT 1000 in the leanest Node loop (plain `redis-cli --scan` would use COUNT 10, a slower
// and unfair baseline).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { BenchRedis } from '../lib/redis.mjs';
import { runMeasured, mustSucceed } from '../lib/proc.mjs';
import { populate } from '../lib/fixtures.mjs';
import { cleanEnv, hasCommand, missing } from '../lib/env.mjs';

/** DB holding twice as many keys, for the memory check (scanned once, in setup). */
const DOUBLE_DB = 2;

/** redis-cli learnt `--count` in 7.2; older ones reject it. */
function redisCliHasCount() {
  const r = spawnSync('redis-cli', ['--scan', '--count', '1000', '-p', '1'], { encoding: 'utf8' });
  return !/Unrecognized option/.test(r.stderr + r.stdout);
}

const CLI_COUNT = redisCliHasCount();

async function rqctlKeys(state, ctx, db) {
  const args = [ctx.bin, 'keys', '--role', 'queue', ...(db ? ['--db', String(db)] : [])];
  return mustSucceed('rqctl keys', await runMeasured(process.execPath, args, { env: cleanEnv({ REDIS_URL: state.redis.url() }), countLines: true }));
}

export default {
  id: 'keys',
  title: 'keys scan',
  measure: '`rqctl keys` over N keys vs `redis-cli --scan --count 1000` (both into a pipe)',
  kind: 'time',
  target: 1.5,
  extraTarget: 'memory flat',
  checkExtra: (e) => e !== undefined && e.peakRss2xMb - e.peakRssMb <= 25,
  rounds: { full: 5, quick: 1 },
  n: (ctx) => (ctx.quick ? 100_000 : 1_000_000),
  unavailable: (ctx) => (!hasCommand(ctx, ['keys']) ? missing('rqctl keys') : undefined),
  async setup(ctx) {
    const redis = await BenchRedis.start();
    const n = ctx.quick ? 100_000 : 1_000_000;
    const c = redis.client();
    await populate(c, n, 'stock_quote');
    await c.select(DOUBLE_DB);
    await populate(c, 2 * n, 'stock_quote');
    c.disconnect();
    const state = { redis, n };
    const double = await rqctlKeys(state, ctx, DOUBLE_DB);
    if (double.lines !== 2 * n) throw new Error(`rqctl keys printed ${double.lines} keys of ${2 * n}`);
    state.doubleRssMb = double.peakRssMb;
    const d = redis.client(DOUBLE_DB);
    await d.flushdb();
    d.disconnect();
    return state;
  },
  async teardown(state) {
    await state?.redis.stop();
  },
  subjects: [
    {
      name: CLI_COUNT ? 'redis-cli --scan --count 1000' : 'node SCAN COUNT 1000 (redis-cli < 7.2 has no --count)',
      baseline: true,
      async run(state, ctx) {
        const [cmd, args] = CLI_COUNT
          ? ['redis-cli', ['-h', '127.0.0.1', '-p', String(state.redis.port), '--scan', '--count', '1000']]
          : [process.execPath, [join(ctx.root, 'bench/raw/scan-print.mjs'), state.redis.url()]];
        const res = mustSucceed('raw scan', await runMeasured(cmd, args, { env: cleanEnv(), countLines: true }));
        if (res.lines !== state.n) throw new Error(`the raw scan printed ${res.lines} keys, expected ${state.n}`);
        return { value: res.ms, extra: { peakRssMb: res.peakRssMb } };
      },
    },
    {
      name: 'rqctl',
      async run(state, ctx) {
        const res = await rqctlKeys(state, ctx);
        if (res.lines !== state.n) throw new Error(`rqctl keys printed ${res.lines} keys, expected ${state.n}`);
        return { value: res.ms, extra: { peakRssMb: res.peakRssMb, peakRss2xMb: state.doubleRssMb } };
      },
    },
  ],
};
