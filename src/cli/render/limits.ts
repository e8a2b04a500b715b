import type { Output } from '../render.js';
import { formatRateLimit } from '../../config/rate-limits.js';
import type { ProviderLimitStatus } from '../../limits/provider-limits.js';

/** `rqctl limits`: a row per provider; the JSON is `{providers: [...]}` (docs/rate-limits.md). */
export function printLimits(out: Output, providers: ProviderLimitStatus[]): void {
  out.result({ providers }, () => {
    if (!providers.length) {
      out.line('no provider has rate limits (limits: in rqctl.config.yaml)');
      return;
    }
    out.line(
      out.table(
        ['provider', 'limits', 'in use', 'paused until', 'throttled (1h)', '429s (1h)'],
        providers.map((p) => [
          p.name,
          p.limits.map((l) => formatRateLimit(l)).join(', '),
          p.limits.map((l) => `${l.used}/${l.max}`).join(', '),
          p.pausedUntil ? out.c.yellow(p.pausedUntil) : null,
          p.throttled1h,
          p.http429_1h ? out.c.yellow(String(p.http429_1h)) : 0,
        ]),
      ),
    );
  });
}

/** `rqctl limits --script`: the Lua other applications load (with its SHA1 for EVALSHA under --json). */
export function printLimitScript(out: Output, script: { file: string; sha1: string; script: string }): void {
  out.result(script, () => out.line(script.script.replace(/\n$/, '')));
}
