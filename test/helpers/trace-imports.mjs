// Records every module the process resolves into $TRACE_IMPORTS_FILE (one URL per line).
// Used to prove that `rqctl --help` stays light.
import { register } from 'node:module';
register('./trace-imports-hooks.mjs', import.meta.url, { data: { file: process.env.TRACE_IMPORTS_FILE } });
