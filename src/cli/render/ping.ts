import type { Output } from '../render.js';
import type { PingResult } from '../../redis/ping.js';

/** `ping`: a row per role; the errors of unreachable roles on stderr, once per distinct error. */
export function printPing(out: Output, roles: PingResult[]): void {
  out.result({ roles }, () => {
    out.line(
      out.table(
        ['role', 'url', 'status', 'latency', 'version'],
        roles.map((r) => [
          r.role,
          r.master ? `${r.url} → master ${r.master}` : r.url,
          r.ok ? out.c.green('ok') : out.c.red('failed'),
          r.latencyMs === null ? null : `${r.latencyMs} ms`,
          r.version,
        ]),
      ),
    );
    // Roles on one server fail the same way: say it once.
    const seen = new Set<string>();
    for (const r of roles) {
      if (!r.error) continue;
      const msg = r.error.message.replace(/ \((queue|cache|session) role\)/, '');
      if (seen.has(msg)) continue;
      seen.add(msg);
      out.err(`error: ${msg}${r.error.hint ? `\nhint: ${r.error.hint}` : ''}`);
    }
  });
  if (out.json) for (const r of roles) if (r.error) out.err(JSON.stringify({ error: r.error }));
}
