// Renders `rqctl --help` once at build time into dist/cli/help.txt, so that bin/rqctl.js can answer
// `rqctl --help` without loading commander and every command module (BENCHMARKS.md: start-up ≤ 1.6×
// `node -e ""`). The text comes from the same program definition, so it cannot drift from the CLI:
// `npm run build` regenerates it. Width 80, what commander uses when stdout is not a terminal.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { buildProgram } = await import(join(root, 'dist', 'cli', 'main.js'));
const program = buildProgram();
let text = '';
program.configureOutput({ writeOut: (s) => (text += s), getOutHelpWidth: () => 80, getOutHasColors: () => false });
program.outputHelp();
writeFileSync(join(root, 'dist', 'cli', 'help.txt'), text);
