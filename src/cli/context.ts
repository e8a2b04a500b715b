import type { Command } from 'commander';
import type { Config } from '../config/resolve.js';
import type { Output } from './render.js';
import { usageError } from '../errors.js';
import { formatDuration, MAX_TIMER_MS, parseDuration } from '../util/duration.js';
import { UNSAFE_KEYS } from '../util/unsafe-keys.js';

/** The global options every command has (docs/commands.md). */
export interface GlobalOptions {
  config?: string;
  envFile?: string;
  redisUrl?: string;
  json?: boolean;
  color?: boolean;
  verbose?: boolean;
  quiet?: boolean;
}

export interface CommandContext {
  globals: GlobalOptions;
  out: Output;
  command: Command;
  /** Resolves the configuration (once); throws ConfigError (exit 2) before anything connects. */
  config(): Promise<Config>;
}

/** What the top-level catch needs to know about the command that failed. */
export const lastContext: { globals: GlobalOptions } = { globals: {} };

let cachedConfig: Promise<Config> | undefined;

/**
 * Wraps a command's handler: builds the context from the global options and sets the exit code the
 * handler returns. Thrown errors go to the one catch in main.ts. The config module (zod, yaml) is
 * imported here, lazily, so `--help` and `--version` never load it.
 */
export function action<A extends unknown[]>(handler: (ctx: CommandContext, ...args: A) => Promise<number | void>) {
  return async (...argv: unknown[]): Promise<void> => {
    const command = argv[argv.length - 1] as Command;
    const globals = command.optsWithGlobals() as GlobalOptions;
    lastContext.globals = globals;
    // chalk and cli-table3 are loaded only when a command runs, never for --help/--version.
    const { Output } = await import('./render.js');
    const out = new Output(globals);
    const ctx: CommandContext = {
      globals,
      out,
      command,
      config: () => {
        cachedConfig ??= import('../config/resolve.js').then((m) =>
          m.resolveConfig({ flags: { config: globals.config, envFile: globals.envFile, redisUrl: globals.redisUrl } }),
        );
        return cachedConfig;
      },
    };
    const code = await handler(ctx, ...(argv.slice(0, -1) as A));
    if (typeof code === 'number') process.exitCode = code;
  };
}

/** Commander option parsers that fail with exit 2 and a clear message. */
export function intOption(name: string, min = 0, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    if (!/^\d+$/.test(value.trim()) || Number(value) < min || Number(value) > max) {
      throw usageError(`${name} must be an integer ${min}–${max === Number.MAX_SAFE_INTEGER ? '…' : max} (got "${value}")`);
    }
    return Number(value);
  };
}

/** Bounds of a duration flag, ms. `max` defaults to MAX_TIMER_MS: most durations end up in a timer. */
export interface DurationBounds {
  min?: number;
  max?: number;
}

/**
 * The one parser of the CLI's duration flags: `10s`, `5m`, `1h`, or a bare number of seconds →
 * milliseconds, within bounds (exit 2 outside them). Zero or a few milliseconds would make a watch
 * loop spin; past MAX_TIMER_MS a Node timer fires at once.
 */
export function durationOption(name: string, bounds: DurationBounds = {}) {
  const min = bounds.min ?? 0;
  const max = bounds.max ?? MAX_TIMER_MS;
  return (value: string): number => {
    const ms = parseDuration(value);
    if (ms === undefined) throw usageError(`${name} must be a duration like 30s, 5m, 1h (got "${value}")`);
    if (ms < min) throw usageError(`${name} must be at least ${formatDuration(min)} (got "${value}")`);
    if (ms > max) {
      const why = max === MAX_TIMER_MS ? ": longer waits overflow Node's timers" : '';
      throw usageError(`${name} must be at most ${formatDuration(max)} (got "${value}")${why}`);
    }
    return ms;
  };
}

/** The shortest interval of a watch loop (`stats --watch`, `queue monitor`, `up`'s status). */
export const MIN_INTERVAL_MS = 100;

/** Repeatable `--param k=v`. */
export function collectParam(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const i = value.indexOf('=');
  if (i <= 0) throw usageError(`--param expects key=value (got "${value}")`);
  const key = value.slice(0, i);
  // Such a key would be dropped (or change the object's prototype) on its way to the payload.
  if (UNSAFE_KEYS.has(key)) throw usageError(`--param name "${key}" is not allowed`, 'see `rqctl jobs <Job>` for the params a job takes');
  return { ...previous, [key]: value.slice(i + 1) };
}

/** `--queue a,b`: the queue names, or undefined without the flag (every queue). */
export function queueList(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const list = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (list.length === 0) throw usageError('--queue is empty', 'give a queue name, e.g. --queue default (or a comma list)');
  return list;
}
