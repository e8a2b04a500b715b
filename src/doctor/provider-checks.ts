import { maskSecrets } from '../config/endpoints.js';
import { cleartextRemoteUrl } from '../util/url.js';
import type { CheckGroup, CheckResult } from './types.js';

/**
 * The market-data providers' base URLs: an `http://` URL to another host sends the API key header and
 * receives the cached data in cleartext. Reported only when it happens (like the env.* checks).
 */
export const providerChecks: CheckGroup = async (ctx) => {
  const out: CheckResult[] = [];
  const urls: [string, string, string | undefined][] = [
    ['coingecko', 'COINGECKO_BASE_URL', ctx.config.providers.coingecko.baseUrl],
    ['finnhub', 'FINNHUB_BASE_URL', ctx.config.providers.finnhub.baseUrl],
  ];
  for (const [id, name, url] of urls) {
    if (!url || !cleartextRemoteUrl(url)) continue;
    out.push({
      id: `providers.${id}.cleartext`,
      status: 'warn',
      message: `${name} ${maskSecrets(url)} is http:// to another host: the API key and the responses cross the network in cleartext`,
      fix: `use an https:// URL in ${name} (or a proxy on 127.0.0.1)`,
    });
  }
  return out;
};
