/**
 * Queue names an operator may give. rqctl keeps its own control keys under `<queue prefix>:rqctl:`
 * (docs/redis-keys.md), so a queue named `rqctl` would mix with them; a `:` would make BullMQ's keys
 * of one queue look like another's.
 */
export const RESERVED_QUEUE_NAME = 'rqctl';

/** Why `name` cannot be a queue's name, or undefined when it can. */
export function queueNameProblem(name: string): string | undefined {
  if (name === RESERVED_QUEUE_NAME) return `the queue name "${RESERVED_QUEUE_NAME}" is reserved for rqctl's own keys`;
  if (!/^[^\s:]+$/.test(name)) return `invalid queue name "${name}" (must not be empty or contain spaces or ":")`;
  return undefined;
}
