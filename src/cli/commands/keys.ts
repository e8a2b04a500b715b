import type { Command } from 'commander';

/** Commands of the "keys" group. Keep this file light: import core modules inside the actions. */
export function register(_program: Command): void {}
