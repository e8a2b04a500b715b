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

/** The command word: the first argument that is not a global option (or the value of one). */
function commandWord(args) {
  for (let i = 0; i < args.length; i++) {
    if (['--config', '--env-file', '--redis-url'].includes(args[i])) i++;
    else if (!args[i].startsWith('-')) return args[i];
  }
  return undefined;
}

// A long-running command may be stopped while Node is still loading it (supervisorctl stop, a
// deploy, Ctrl-C right after start): Node's default would kill it by the signal, which supervisord
// reports as an abnormal exit. Until the command's own handlers take over (src/cli/signals.ts
// replays what came meanwhile), a SIGTERM/SIGINT is remembered, not fatal.
const LONG_RUNNING = new Set(['worker', 'scheduler', 'up', 'dashboard', 'metrics']);
function rememberEarlySignals(args) {
  const word = commandWord(args);
  if (!LONG_RUNNING.has(word) || args.includes('--once') || args.includes('restart')) return;
  const early = { signals: [], listener: (signal) => early.signals.push(signal) };
  globalThis.__rqctlEarlySignals = early;
  process.on('SIGTERM', early.listener);
  process.on('SIGINT', early.listener);
}

const args = process.argv.slice(2);
const answer = fastAnswer(args);
if (answer !== undefined) process.stdout.write(answer);
else {
  rememberEarlySignals(args);
  import('../dist/cli/main.js').then((cli) => cli.run(process.argv));
}
