/** `--queue a, b` → `['a', 'b']`; without the flag, the configured queues (worker.queues). */
export function queuesFromFlag(flag: string | undefined, configured: readonly string[]): string[] {
  if (flag === undefined) return [...configured];
  return flag
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}
