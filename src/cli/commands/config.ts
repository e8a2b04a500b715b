import type { Command } from 'commander';
import { action } from '../context.js';

export function register(program: Command): void {
  const config = program.command('config').description('show, generate and validate configuration and deployment files');

  config
    .command('show')
    .description('the resolved configuration (flags > environment > config file > defaults), secrets masked')
    .action(
      action(async ({ out, config: load }) => {
        const { describeConfig } = await import('../../config/show.js');
        const shown = describeConfig(await load());
        out.result(shown, () => out.line(JSON.stringify(shown, null, 2)));
      }),
    );
}
