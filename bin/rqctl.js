#!/usr/bin/env node
/* eslint-disable @typescript-eslint/no-require-imports */
'use strict';
// CommonJS on purpose (bin/package.json): `rqctl --version` and `rqctl --help` answer from files
// without starting the ESM loader, commander or any command module, which together would double
// node's own start-up (BENCHMARKS.md: ≤ 1.6× `node -e ""`). dist/cli/help.txt is rendered from the real
// program at build time (scripts/build-help.mjs); anything else, or a missing file, runs the CLI.
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

function fastAnswer(args) {
  if (args.length !== 1 || !['--version', '--help', '-h'].includes(args[0])) return undefined;
  try {
    if (args[0] === '--version') return `${JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')).version}\n`;
    return readFileSync(join(__dirname, '..', 'dist', 'cli', 'help.txt'), 'utf8');
  } catch {
    return undefined;
  }
}

const answer = fastAnswer(process.argv.slice(2));
if (answer !== undefined) process.stdout.write(answer);
else import('../dist/cli/main.js').then((cli) => cli.run(process.argv));
