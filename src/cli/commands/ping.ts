import type { Command } from 'commander';
import { action } from '../context.js';

export function register(program: Command): void {
  program
    .command('ping')
    .description('connect to every role (queue, cache, session) and report latency and server version')
    .action(
      action(async ({ out, config }) => {
        const { pingRoles } = await import('../../redis/ping.js');
        const result = await pingRoles(await config());
        out.result({ roles: result.roles }, () => {
          out.line(
            out.table(
              ['role', 'url', 'status', 'latency', 'version'],
              result.roles.map((r) => [
                r.role,
                r.url,
                r.ok ? out.c.green('ok') : out.c.red('failed'),
                r.latencyMs === null ? null : `${r.latencyMs} ms`,
                r.version,
              ]),
            ),
          );
          // Roles on one server fail the same way: say it once.
          const seen = new Set<string>();
          for (const r of result.roles) {
            if (!r.error) continue;
            const msg = r.error.message.replace(/ \((queue|cache|session) role\)/, '');
            if (seen.has(msg)) continue;
            seen.add(msg);
            process.stderr.write(`error: ${msg}${r.error.hint ? `\nhint: ${r.error.hint}` : ''}\n`);
          }
        });
        if (out.json) for (const r of result.roles) if (r.error) process.stderr.write(`${JSON.stringify({ error: r.error })}\n`);
        return result.exitCode;
      }),
    );
}
