// Evaluated before every other module of the CLI (the first import of main.ts): what must happen
// before any dependency loads.
import { installVerbatimString } from '../redis/verbatim-string.js';
import { dataGlobals } from '../util/globals.js';

installVerbatimString();
dataGlobals();
