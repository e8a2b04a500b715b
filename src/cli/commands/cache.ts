import type { Command } from 'commander';
import { withRoleClients } from '../clients.js';
import { action, collectParam } from '../context.js';

/** Commands of the "cache" group. Keep this file light: import core modules inside the actions. */

const collect = (value: string, previous: string[] = []): string[] => [
  ...previous,
  ...value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
];
const collectPrefix = (value: string, previous: string[] = []): string[] => [...previous, value];

export function register(program: Command): void {
  const cache = program.command('cache').description('the API-response cache (cache role): key, get, forget, clear, stats');
  registerKey(cache);
  registerGet(cache);
  registerForget(cache);
  registerClear(cache);
  registerStats(cache);
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
        const [{ cacheKeyFor }, { printCacheKey }] = await Promise.all([import('../../jobs/fetch/cache-key.js'), import('../render/cache.js')]);
        printCacheKey(out, await cacheKeyFor(await config(), job, method, flags.param));
      }),
    );
}

function registerGet(cache: Command): void {
  cache
    .command('get')
    .description('print a cache value exactly as stored (raw bytes on stdout), its TTL on stderr')
    .argument('<key>', 'the key as stored (CACHE_PREFIX included; tried with CACHE_PREFIX in front when absent); \\xhh for binary bytes')
    .addHelpText('after', '\nA key that does not exist exits 4 (nothing on stdout). --json: {"key","ttl","bytes","encoding":"utf8|base64","value"}.')
    .action(
      action(async (ctx, keyText: string) => {
        const [{ getCacheValue }, { printCacheValue }, { StdoutStream }] = await Promise.all([
          import('../../cache/values.js'),
          import('../render/cache.js'),
          import('../stream.js'),
        ]);
        const value = await withRoleClients(ctx, ['cache'], (c, config) => getCacheValue(c.cache, config, keyText), { connectionName: 'rqctl-cache' });
        await printCacheValue(ctx.out, value, new StdoutStream());
      }),
    );
}

function registerForget(cache: Command): void {
  cache
    .command('forget')
    .description('delete cache keys (UNLINK), like Cache::forget')
    .argument('<key...>', 'keys as stored (CACHE_PREFIX tried in front when absent); \\xhh for binary bytes')
    .addHelpText('after', '\n--json: {"forgotten":N,"keys":[…],"missing":[…]}. Keys that do not exist are reported, not an error (exit 0).')
    .action(
      action(async (ctx, keyTexts: string[]) => {
        const [{ forgetCacheKeys }, { printForgotten }] = await Promise.all([import('../../cache/values.js'), import('../render/cache.js')]);
        const res = await withRoleClients(ctx, ['cache'], (c, config) => forgetCacheKeys(c.cache, config, keyTexts), { connectionName: 'rqctl-cache' });
        printForgotten(ctx.out, res);
      }),
    );
}

function registerClear(cache: Command): void {
  cache
    .command('clear')
    .description('delete cache keys with SCAN + UNLINK in small paced batches (never FLUSHDB/FLUSHALL), in the cache role only')
    .option('--prefix <prefix>', 'keys starting with CACHE_PREFIX + this (literal, e.g. stock_quote_); repeatable', collectPrefix)
    .option('--tag <tag>', 'a group of key families from cache.tags (defaults: crypto, stock); repeatable or comma-separated', collect)
    .option('--dry-run', 'count what would be deleted, per key family; delete nothing')
    .option('-y, --yes', 'do not ask (required when not on a terminal)')
    .addHelpText(
      'after',
      '\nWithout --prefix or --tag: every key under CACHE_PREFIX (or the whole cache DB when CACHE_PREFIX is empty and\n' +
        'the DB is the cache\'s alone). Several selectors add up. --json: {"deleted":N,"matched":N,"dryRun":bool,"families":{…}}.\n' +
        'Ctrl-C stops after the current batch, reports what was deleted, and exits 130.',
    )
    .action(
      action(async (ctx, opts: { prefix?: string[]; tag?: string[]; dryRun?: boolean; yes?: boolean }) => {
        const { out } = ctx;
        const [{ planCacheClear, clearCache }, { confirmDestructive }, { interruptSignal }, { isDeclined }, view] = await Promise.all([
          import('../../cache/clear.js'),
          import('../confirm.js'),
          import('../signals.js'),
          import('../../util/confirm.js'),
          import('../render/cache.js'),
        ]);
        const config = await ctx.config();
        const plan = planCacheClear(config, { prefixes: opts.prefix, tags: opts.tag });
        const what = 'clear the cache';
        // Without a terminal and without --yes: exit 2 before anything connects.
        if (!opts.dryRun && !opts.yes && !(process.stdin.isTTY && process.stderr.isTTY)) await confirmDestructive('', { what });
        const where = `the cache role (${config.roles.cache.display})`;
        const progress = out.progress();
        let irq: ReturnType<typeof interruptSignal> | undefined;
        const res = await withRoleClients(
          ctx,
          ['cache'],
          async (c) => {
            try {
              const r = await clearCache(c.cache, plan, {
                config,
                dryRun: opts.dryRun,
                confirm: (ask) => confirmDestructive(view.cacheClearQuestion(ask, where), { yes: opts.yes, what }),
                // Ctrl-C stops after the current batch once the clear runs (at the prompt, it is the prompt's).
                signal: () => {
                  irq = interruptSignal();
                  return irq.signal;
                },
                onProgress: ({ matched, deleted }) => progress.update(`${opts.dryRun ? `matched ${matched}` : `deleted ${deleted}`} keys…`),
              });
              if (!isDeclined(r)) progress.clear();
              return r;
            } finally {
              irq?.dispose();
            }
          },
          { connectionName: 'rqctl-cache-clear' },
        );
        view.printCacheClear(out, res, plan, where);
        if (!isDeclined(res) && res.interrupted) return 130;
      }),
    );
}

function registerStats(cache: Command): void {
  cache
    .command('stats')
    .description('keys per key family, TTL left against the configured durations, keys without TTL, hit ratio and evictions')
    .action(
      action(async (ctx) => {
        const [{ cacheStats }, { printCacheStats }] = await Promise.all([import('../../cache/stats.js'), import('../render/cache.js')]);
        const stats = await withRoleClients(ctx, ['cache'], (c, config) => cacheStats(c.cache, config), { connectionName: 'rqctl-cache' });
        printCacheStats(ctx.out, stats);
      }),
    );
}
