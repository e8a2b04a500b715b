import type { Command } from 'commander';

/** Commands of the "failed" group. Keep this file light: import core modules inside the actions. */
export function register(_program: Command): void {}
