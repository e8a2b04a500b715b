// The rows of SPEC §10, in the order the table prints them.
import cliStart from './cli-start.mjs';

export const rows = [cliStart];
