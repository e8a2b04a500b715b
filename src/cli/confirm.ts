import { ExitCode, RqctlError, usageError } from '../errors.js';

/**
 * The confirmation rule for destructive commands (docs/commands.md): ask on a terminal, require `--yes`
 * otherwise (exit 2, nothing changed). The prompt goes to stderr so stdout keeps only the result.
 * Returns false when the operator answers no.
 */
export async function confirmDestructive(message: string, opts: { yes?: boolean; what: string }): Promise<boolean> {
  if (opts.yes) return true;
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw usageError(`refusing to ${opts.what} without confirmation (not a terminal)`, 'pass --yes to confirm, or --dry-run to see what would happen');
  }
  const { confirm } = await import('@inquirer/prompts');
  try {
    return await confirm({ message, default: false }, { output: process.stderr });
  } catch (e) {
    if ((e as Error)?.name === 'ExitPromptError' || (e as Error)?.name === 'AbortPromptError')
      throw new RqctlError('INTERRUPTED', ExitCode.interrupted, 'interrupted: nothing changed');
    throw e;
  }
}

/**
 * The refusal without a terminal (as `confirmDestructive` words it), up front: a command that must
 * read a lot before it can ask (`jobs find --remove` counts its matches) fails at once instead.
 */
export function requireConfirmation(what: string, yes: boolean | undefined): void {
  if (yes || (process.stdin.isTTY && process.stderr.isTTY)) return;
  throw usageError(`refusing to ${what} without confirmation (not a terminal)`, 'pass --yes to confirm, or --dry-run to see what would happen');
}

/**
 * Asks from one phrase: "remove 3 failed jobs" prompts "Remove 3 failed jobs?" and words the refusal
 * without a terminal ("refusing to remove 3 failed jobs without confirmation").
 */
export function confirmPhrase(what: string, yes: boolean | undefined): Promise<boolean> {
  return confirmDestructive(`${what[0].toUpperCase()}${what.slice(1)}?`, { yes, what });
}
