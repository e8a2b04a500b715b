import type { Command } from 'commander';
import { action, collectParam } from '../context.js';

/** Commands of the "cache" group. Keep this file light: import core modules inside the actions. */
export function register(program: Command): void {
  const cache = program.command('cache').description('the API-response cache (cache role)');
  registerKey(cache);
}

/** `rqctl cache key <Job> <method> [--param k=v]…`: the key a fetch job writes (SPEC §5.1). */
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
