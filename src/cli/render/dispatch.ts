import type { Output } from '../render.js';
import type { DispatchResult, WaitResult } from '../../jobs/dispatch.js';

/** What `dispatch` prints. A job that failed or outlasted --wait is an error (exit 4), thrown by the command. */

/** `dispatch --wait`: the job is queued, now the wait (stderr). */
export function printWaiting(out: Output, d: DispatchResult, waitMs: number): void {
  out.info(`dispatched ${d.name} job ${d.id} on queue ${d.queue}; waiting up to ${Math.round(waitMs / 1000)} s for it to finish…`);
}

/** `dispatch`: the job queued (and its cache key), or with --wait how it completed; --json: the result. */
export function printDispatch(out: Output, r: DispatchResult | WaitResult): void {
  if (!('state' in r)) {
    out.result(r, () => {
      out.line(`dispatched ${r.name} job ${r.id} on queue ${r.queue}${r.delayMs ? ` (runs in ${Math.round(r.delayMs / 1000)} s)` : ''}`);
      if (r.key) out.line(`cache key: ${r.key}`);
    });
    return;
  }
  out.result(r, () => {
    if (r.state !== 'completed') return;
    const took = r.durationMs !== undefined ? ` in ${(r.durationMs / 1000).toFixed(1)} s` : '';
    out.line(`job ${r.id} (${r.name}) completed${took}${r.attemptsMade && r.attemptsMade > 1 ? ` after ${r.attemptsMade} attempts` : ''}`);
    if (r.returnvalue !== undefined && r.returnvalue !== null) out.line(typeof r.returnvalue === 'string' ? r.returnvalue : JSON.stringify(r.returnvalue));
  });
}
