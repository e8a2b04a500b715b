import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { usageError } from '../errors.js';

/**
 * The variables deployment files are interpolated with (`rqctl config validate`, `rqctl deploy`): the
 * process environment over the `--env-file` file when one is given — what `docker compose --env-file`
 * would see. (`.env` beside a compose file is read by the validator itself, as compose does.)
 */
export function deploymentEnvironment(options: { envFile?: string; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Record<string, string | undefined> {
  const env = options.env ?? process.env;
  let fromFile: Record<string, string> = {};
  if (options.envFile) {
    const path = resolve(options.cwd ?? process.cwd(), options.envFile);
    if (!existsSync(path)) throw usageError(`env file ${options.envFile} does not exist`, 'check the --env-file path');
    fromFile = parseEnv(readFileSync(path, 'utf8')) as Record<string, string>;
  }
  return { ...fromFile, ...env };
}
