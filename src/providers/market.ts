import type { Config } from '../config/resolve.js';

/**
 * Where each market-data provider lives and how it authenticates, from Config. The key goes in a
 * header, never in the URL, so it cannot leak into failure reasons or logs.
 */
export interface ProviderEndpoint {
  /** Display name for messages. */
  name: string;
  baseUrl: string;
  headers: Record<string, string>;
  timeoutMs: number;
}

/** CoinGecko: `x-cg-demo-api-key` (plan demo) or `x-cg-pro-api-key` (plan pro) when a key is set. */
export function coingecko(config: Config): ProviderEndpoint {
  const cg = config.providers.coingecko;
  const headers: Record<string, string> = {};
  if (cg.apiKey) headers[cg.plan === 'pro' ? 'x-cg-pro-api-key' : 'x-cg-demo-api-key'] = cg.apiKey;
  const baseUrl = cg.baseUrl ?? (cg.plan === 'pro' ? 'https://pro-api.coingecko.com/api/v3' : 'https://api.coingecko.com/api/v3');
  return { name: 'CoinGecko', baseUrl, headers, timeoutMs: config.providers.timeoutMs };
}

/** Finnhub: `X-Finnhub-Token`. */
export function finnhub(config: Config): ProviderEndpoint {
  const fh = config.providers.finnhub;
  const headers: Record<string, string> = {};
  if (fh.apiKey) headers['X-Finnhub-Token'] = fh.apiKey;
  return { name: 'Finnhub', baseUrl: fh.baseUrl, headers, timeoutMs: config.providers.timeoutMs };
}
