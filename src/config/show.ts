import type { Config } from './resolve.js';
import { maskSecrets } from './endpoints.js';
import { maskWebhookUrl } from '../util/url-mask.js';

const SECRET_KEYS = /password|apikey|api_key|secret|token/i;

/** The config as `config show` prints it: every secret replaced by `****`, credentials in URLs masked (any scheme). */
export function describeConfig(config: Config): Record<string, unknown> {
  const mask = (v: unknown, key = ''): unknown => {
    if (v === undefined) return undefined;
    if (SECRET_KEYS.test(key) && v !== null && v !== '') return '****';
    if (key === 'webhook' && typeof v === 'string') return maskWebhookUrl(v);
    if (typeof v === 'string') return maskSecrets(v);
    if (Array.isArray(v)) return v.map((x) => mask(x));
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mask(x, k)]));
    return v;
  };
  return mask(config) as Record<string, unknown>;
}
