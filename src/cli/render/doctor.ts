import type { Output } from '../render.js';
import type { CheckResult } from '../../doctor/index.js';

/** `doctor`: a line per check with its fix when it is not ok, then the tally (stderr). */
export function printDoctorReport(out: Output, checks: CheckResult[]): void {
  out.result({ checks }, () => {
    for (const c of checks) {
      out.line(`${out.status(c.status).padEnd(out.c.level ? 13 : 4)}  ${c.message}`);
      if (c.status !== 'ok' && c.fix) out.line(`      ${out.c.dim('fix:')} ${c.fix}`);
    }
    const n = (s: string) => checks.filter((c) => c.status === s).length;
    out.info(`\n${n('ok')} ok, ${n('warn')} warnings, ${n('fail')} failed`);
  });
}
