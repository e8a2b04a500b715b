import { readFileSync } from 'node:fs';
import type { RedisClient } from '../redis/connect.js';

/**
 * The provider-limit script (provider-limit.lua beside this file, shipped in dist/limits/): the
 * contract other applications load too (docs/rate-limits.md). ioredis sends it with EVALSHA, and
 * with EVAL once when the server does not know it yet (after a restart or a failover).
 */
export const SCRIPT_FILE = new URL('./provider-limit.lua', import.meta.url);

let source: string | undefined;

/** The script's text, read once. */
export function providerLimitScript(): string {
  source ??= readFileSync(SCRIPT_FILE, 'utf8');
  return source;
}

const COMMAND = 'rqctlProviderLimit';

type Arg = string | number;
/** The client with the script defined on it: `(numkeys, ...keys, ...args)`; arrays are flattened. */
export type ScriptRunner = (numkeys: number, ...args: (Arg | Arg[])[]) => Promise<number[]>;

/** Defines the script on this client once (ioredis keeps it per client) and returns its runner. */
export function scriptOn(client: RedisClient): ScriptRunner {
  const c = client as unknown as Record<string, ScriptRunner | undefined>;
  if (typeof c[COMMAND] !== 'function') client.defineCommand(COMMAND, { lua: providerLimitScript() });
  return (c[COMMAND] as ScriptRunner).bind(client);
}
