import type { Output } from '../render.js';

/** A destructive command the operator declined at the prompt: exit 0, nothing changed. */
export function printDeclined(out: Output): void {
  out.result({ removed: 0, declined: true }, () => out.info('not confirmed: nothing removed'));
}
