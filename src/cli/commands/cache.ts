import type { Command } from 'commander';
import { action, collectParam } from '../context.js';

const collect = (value: string, previous: string[] = []): string[] => [
  ...previous,
  ...value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
];
const collectPrefix = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Commands of the "cache" group. Keep this file light: import core modules inside the actions. */
export function register(program: Command): void {
  const cache = program.command('cache').description('the API-response cache (cache role): key, get, forget, clear, stats');
  registerKey(cache);

  cache
    .command('get')
    .description('print a cache value exactly as stored (raw bytes on stdout), its TTL on stderr')
    .argument('<key>', 'the key as stored (CACHE_PREFIX included; tried with CACHE_PREFIX in front when absent); \\xhh for binary bytes')
    .addHelpText('after', '\nA key that does not exist exits 4 (nothing on stdout). --json: {"key","ttl","bytes","encoding":"utf8|base64","value"}.')
    .action(
      action(async ({ out, config }, keyText: string) => {
        const { connectRole, closeClient } = await import('../../redis/connect.js');
        const { getCacheValue } = await import('../../cache/values.js');
        const { escapeKey } = await import('../../redis/keyname.js');
        const cfg = await config();
        const client = await connectRole(cfg, 'cache', { connectionName: 'rqctl-cache' });
        let v: Awaited<ReturnType<typeof getCacheValue>>;
        try {
          v = await getCacheValue(client, cfg, keyText);
        } finally {
          await closeClient(client);
        }
        const ttl = v.pttl < 0 ? -1 : Math.ceil(v.pttl / 1000);
        if (out.json) {
          const text = v.value.toString('utf8');
          const utf8 = Buffer.from(text, 'utf8').equals(v.value);
          out.line(
            JSON.stringify({
              key: escapeKey(v.key),
              ttl,
              bytes: v.value.length,
              encoding: utf8 ? 'utf8' : 'base64',
              value: utf8 ? text : v.value.toString('base64'),
            }),
          );
          return;
        }
        const { StdoutStream } = await import('../stream.js');
        const sink = new StdoutStream();
        await sink.write(v.value);
        // Byte for byte when piped; a terminal gets a final newline so the prompt starts on its own line.
        if (out.stdoutIsTTY && v.value[v.value.length - 1] !== 0x0a) await sink.write('\n');
        out.info(`ttl: ${ttl < 0 ? 'none (no expiry)' : `${ttl} s`}`);
      }),
    );

  cache
    .command('forget')
    .description('delete cache keys (UNLINK), like Cache::forget')
    .argument('<key...>', 'keys as stored (CACHE_PREFIX tried in front when absent); \\xhh for binary bytes')
    .addHelpText('after', '\n--json: {"forgotten":N,"keys":[…],"missing":[…]}. Keys that do not exist are reported, not an error (exit 0).')
    .action(
      action(async ({ out, config }, keyTexts: string[]) => {
        const { connectRole, closeClient } = await import('../../redis/connect.js');
        const { forgetCacheKeys } = await import('../../cache/values.js');
        const cfg = await config();
        const client = await connectRole(cfg, 'cache', { connectionName: 'rqctl-cache' });
        let r: Awaited<ReturnType<typeof forgetCacheKeys>>;
        try {
          r = await forgetCacheKeys(client, cfg, keyTexts);
        } finally {
          await closeClient(client);
        }
        out.result(r, () => {
          out.line(`forgot ${r.forgotten} key${r.forgotten === 1 ? '' : 's'}`);
          for (const m of r.missing) out.warn(`not found: ${m}`);
        });
      }),
    );

  cache
    .command('clear')
    .description('delete cache keys with SCAN + UNLINK in small paced batches (never FLUSHDB/FLUSHALL), in the cache role only')
    .option('--prefix <prefix>', 'keys starting with CACHE_PREFIX + this (literal, e.g. stock_quote_); repeatable', collectPrefix)
    .option('--tag <tag>', 'a group of key families from cache.tags (defaults: crypto, stock); repeatable or comma-separated', collect)
    .option('--dry-run', 'count what would be deleted, per key family; delete nothing')
    .option('--yes', 'do not ask (required when not on a terminal)')
    .addHelpText(
      'after',
      '\nWithout --prefix or --tag: every key under CACHE_PREFIX (or the whole cache DB when CACHE_PREFIX is empty and\n' +
        'the DB is the cache\'s alone). Several selectors add up. --json: {"deleted":N,"matched":N,"dryRun":bool,"families":{…}}.\n' +
        'Ctrl-C stops after the current batch, reports what was deleted, and exits 130.',
    )
    .action(
      action(async ({ out, config }, opts: { prefix?: string[]; tag?: string[]; dryRun?: boolean; yes?: boolean }) => {
        const { planClear, clearCache } = await import('../../cache/clear.js');
        const cfg = await config();
        const plan = planClear(cfg, { prefixes: opts.prefix, tags: opts.tag });
        const { confirmDestructive } = await import('../confirm.js');
        // Without a terminal and without --yes: exit 2 before anything connects.
        if (!opts.dryRun && !opts.yes && !(process.stdin.isTTY && process.stderr.isTTY)) await confirmDestructive('', { what: 'clear the cache' });
        const { connectRole, closeClient } = await import('../../redis/connect.js');
        const where = `the cache role (${cfg.roles.cache.display})`;
        const client = await connectRole(cfg, 'cache', { connectionName: 'rqctl-cache-clear' });
        const { interruptSignal } = await import('../signals.js');
        let irq: ReturnType<typeof interruptSignal> | undefined;
        let result: Awaited<ReturnType<typeof clearCache>>;
        try {
          if (!opts.dryRun) {
            let size = '';
            if (plan.whole && !plan.cachePrefix) size = ` (${await client.dbsize()} keys)`;
            if (!(await confirmDestructive(`Delete ${plan.description} in ${where}${size}?`, { yes: opts.yes, what: 'clear the cache' }))) {
              out.info('nothing deleted');
              return;
            }
          }
          irq = interruptSignal();
          let last = 0;
          const progress = out.stderrIsTTY && !out.quiet;
          result = await clearCache(client, plan, {
            dryRun: opts.dryRun,
            signal: irq.signal,
            onProgress: ({ matched, deleted }) => {
              if (progress && Date.now() - last > 200) {
                last = Date.now();
                process.stderr.write(`\r${opts.dryRun ? `matched ${matched}` : `deleted ${deleted}`} keys…`);
              }
            },
          });
          if (progress) process.stderr.write('\r\x1b[K');
        } finally {
          irq?.dispose();
          await closeClient(client);
        }
        const r = result;
        const json = {
          deleted: r.deleted,
          matched: r.matched,
          dryRun: r.dryRun,
          families: r.families,
          interrupted: r.interrupted,
          unlinkCalls: r.unlinkCalls,
          slowestUnlinkMs: r.slowestUnlinkMs,
          elapsedMs: r.elapsedMs,
          selection: plan.description,
        };
        out.result(json, () => {
          const fam = Object.entries(r.families)
            .sort((a, b) => b[1] - a[1])
            .map(([f, n]) => `${f} ${n}`)
            .join(', ');
          if (r.dryRun) {
            out.line(`would delete ${r.matched} key${r.matched === 1 ? '' : 's'}: ${plan.description} in ${where}`);
            if (fam) out.line(`  by family: ${fam}`);
            for (const s of r.sample) out.line(`  e.g. ${s}`);
          } else {
            out.line(`deleted ${r.deleted} key${r.deleted === 1 ? '' : 's'}${r.interrupted ? ' before the interrupt' : ''}: ${plan.description}`);
            if (fam) out.line(`  by family: ${fam}`);
            out.info(`${r.unlinkCalls} UNLINK calls in ${(r.elapsedMs / 1000).toFixed(1)} s, slowest ${r.slowestUnlinkMs} ms`);
          }
        });
        if (r.interrupted) return 130;
      }),
    );

  cache
    .command('stats')
    .description('keys per key family, TTL left against the configured durations, keys without TTL, hit ratio and evictions')
    .action(
      action(async ({ out, config }) => {
        const { connectRole, closeClient } = await import('../../redis/connect.js');
        const { cacheStats, TTL_BUCKETS } = await import('../../cache/stats.js');
        const { formatBytes, formatRatio } = await import('../../util/bytes.js');
        const cfg = await config();
        const client = await connectRole(cfg, 'cache', { connectionName: 'rqctl-cache' });
        let s: Awaited<ReturnType<typeof cacheStats>>;
        try {
          s = await cacheStats(client, cfg);
        } finally {
          await closeClient(client);
        }
        out.result(s, () => {
          out.line(
            out.table(
              ['family', 'keys', 'no ttl', 'duration', 'ttl left min/mean/max', `left ${TTL_BUCKETS.join(' | ')}`],
              s.families.map((f) => [
                f.family,
                f.keys,
                f.noTtl,
                f.duration === null ? '-' : `${f.duration}s`,
                f.ttl ? `${f.ttl.min}/${f.ttl.mean}/${f.ttl.max}` : '-',
                f.buckets ? TTL_BUCKETS.map((b) => f.buckets![b]).join(' | ') : '-',
              ]),
            ),
          );
          out.line('');
          out.line(
            out.kv([
              ['keys', `${s.totalKeys}${s.prefix ? ` under CACHE_PREFIX "${s.prefix}"` : ''} (DB ${s.db} holds ${s.dbSize ?? '?'})`],
              ['without ttl', s.keysWithoutTtl ? `${s.keysWithoutTtl} (e.g. ${s.noTtlSample.join(', ')})` : 0],
              ['hit ratio', `${formatRatio(s.hitRatio)} (${s.keyspaceHits} hits, ${s.keyspaceMisses} misses since the server started, all DBs)`],
              ['evicted', s.evictedKeys],
              ['expired', s.expiredKeys],
              ['memory', `${formatBytes(s.usedMemory)} of ${s.maxmemory ? formatBytes(s.maxmemory) : 'no limit'} (${s.maxmemoryPolicy ?? '?'})`],
            ]),
          );
        });
      }),
    );
}

/** `rqctl cache key <Job> <method> [--param k=v]…`: the key a fetch job writes (docs/jobs.md). */
function registerKey(cache: Command): void {
  cache
    .command('key <job> <method>')
    .description('print the cache key a fetch job writes, so other services can read it')
    .option('--param <key=value>', 'a param (repeatable), as for `rqctl dispatch`', collectParam, {})
    .addHelpText(
      'after',
      `
The key is CACHE_PREFIX + family + "_" + md5hex(canonical JSON of the params after type coercion and
defaults, keys sorted, no whitespace). Example:
  rqctl cache key FetchCryptoData getCryptoList --param vs_currency=usd`,
    )
    .action(
      action(async ({ out, config }, job: string, method: string, flags: { param: Record<string, string> }) => {
        const { cacheKeyFor } = await import('../../jobs/fetch/cache-key.js');
        const info = await cacheKeyFor(await config(), job, method, flags.param);
        out.result(info, () => {
          out.line(info.key);
          out.debug(`family ${info.family}, params ${info.canonical}, ttl ${info.ttl}s`);
        });
      }),
    );
}
