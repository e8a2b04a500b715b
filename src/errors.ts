/**
 * The one error type rqctl throws on purpose. The CLI's single catch (src/cli/main.ts) turns it into
 * a one-line message (or the JSON error shape) and the exit code; anything else is an internal error.
 */
export const ExitCode = {
  ok: 0,
  internal: 1,
  usage: 2,
  unreachable: 3,
  checkFailed: 4,
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export interface RqctlErrorOptions {
  /** What the operator can do about it: one line. */
  hint?: string;
  cause?: unknown;
  /** Extra machine-readable detail, included in --json errors. */
  details?: Record<string, unknown>;
}

export class RqctlError extends Error {
  readonly code: string;
  readonly exitCode: ExitCodeValue;
  readonly hint?: string;
  readonly details?: Record<string, unknown>;

  constructor(code: string, exitCode: ExitCodeValue, message: string, options: RqctlErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RqctlError';
    this.code = code;
    this.exitCode = exitCode;
    this.hint = options.hint;
    this.details = options.details;
  }

  toJSON(): { code: string; message: string; hint?: string; details?: Record<string, unknown> } {
    return { code: this.code, message: this.message, hint: this.hint, ...(this.details ? { details: this.details } : {}) };
  }
}

/** Bad flags or arguments: exit 2, nothing changed. */
export function usageError(message: string, hint?: string): RqctlError {
  return new RqctlError('USAGE', ExitCode.usage, message, { hint });
}

/** Invalid configuration: every problem at once, as `path: message` lines. Exit 2. */
export class ConfigError extends RqctlError {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(
      'CONFIG_INVALID',
      ExitCode.usage,
      problems.length === 1 ? `invalid configuration: ${problems[0]}` : `invalid configuration (${problems.length} problems):\n  ${problems.join('\n  ')}`,
      { hint: 'fix the values above (flags, environment, .env or rqctl.config.yaml); `rqctl config show` prints what was resolved', details: { problems } },
    );
    this.problems = problems;
  }
}

export function isRqctlError(e: unknown): e is RqctlError {
  return e instanceof RqctlError;
}
