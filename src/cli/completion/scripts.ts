import { readTemplate } from '../../deploy/generate/templates.js';

/**
 * The shell side of completion (docs/commands.md): templates/completion/rqctl.<shell>, a small
 * function per shell that hands the words typed so far to `rqctl __complete -- <words…>` and offers
 * what it answers. The first line of the answer is the directive (`words`, or `files` for file
 * names), then one `value<TAB>description` per line. Everything else (commands, flags, values) is
 * decided by rqctl from its own program.
 */
export type Shell = 'bash' | 'zsh' | 'fish';
export const SHELLS: readonly Shell[] = ['bash', 'zsh', 'fish'];

export function completionScript(shell: Shell): string {
  return readTemplate(`completion/rqctl.${shell}`);
}
