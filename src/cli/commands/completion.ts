import type { Command } from 'commander';
import { usageError } from '../../errors.js';
import { exitNow } from '../signals.js';

/**
 * `rqctl completion bash|zsh|fish` prints the shell's completion script; the script calls the hidden
 * `rqctl __complete -- <words…>`, which answers from this very program (src/cli/completion/). Both
 * load their modules only when they run, so `rqctl --help` stays fast.
 */
export function register(program: Command): void {
  program
    .command('completion')
    .description('print the shell completion script: source <(rqctl completion bash), or zsh, or fish')
    .argument('<shell>', 'bash, zsh or fish')
    .addHelpText(
      'after',
      `
Completes commands, subcommands and flags, and from the config and Redis (1 s at most, nothing when
unreachable) job types, their methods, queue names, schedule entries and cache tags. Install:
  bash  source <(rqctl completion bash)            (in ~/.bashrc)
  zsh   source <(rqctl completion zsh)             (in ~/.zshrc, after compinit)
  fish  rqctl completion fish | source             (or > ~/.config/fish/completions/rqctl.fish)`,
    )
    .action(async (shell: string) => {
      const { completionScript, SHELLS } = await import('../completion/scripts.js');
      if (!(SHELLS as readonly string[]).includes(shell)) throw usageError(`unknown shell "${shell}"`, `use one of: ${SHELLS.join(', ')}`);
      process.stdout.write(completionScript(shell as 'bash'));
    });

  program
    .command('__complete', { hidden: true })
    .description('answer a completion request (used by the completion scripts)')
    .argument('[words...]')
    .allowUnknownOption()
    .helpOption(false)
    .action(async (words: string[] | undefined, _opts: unknown, cmd: Command) => {
      // A TAB must never print an error or hang: whatever goes wrong, the answer is "nothing".
      let text = 'words\n';
      try {
        const [{ complete, formatCompletion }, { completionValues }] = await Promise.all([
          import('../completion/complete.js'),
          import('../completion/values.js'),
        ]);
        const cwd = process.cwd();
        text = formatCompletion(await complete(cmd.parent!, words ?? [], (globals) => completionValues(globals, cwd)));
      } catch {
        /* nothing to offer */
      }
      process.stdout.write(text, () => exitNow(0));
    });
}
