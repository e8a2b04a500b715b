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

/**
 * Redis refusing a command for a reason on the server's side that the operator must fix: exit 3 with
 * what happened and what to do, instead of an "internal error" and a stack. Recognised by the reply's
 * prefix (ioredis' ReplyError message, also when BullMQ's Lua scripts hit it).
 */
const REDIS_REFUSALS: { prefix: RegExp; code: string; what: string; hint: string }[] = [
  {
    prefix: /^OOM\b/,
    code: 'REDIS_OOM',
    what: 'is out of memory (maxmemory reached under noeviction) and refused the write',
    hint: 'free memory or raise maxmemory; a queue server must keep noeviction (it refuses writes rather than silently dropping queued jobs), see `rqctl stats`',
  },
  {
    prefix: /^READONLY\b/,
    code: 'REDIS_READONLY',
    what: 'is a read-only replica and refused the write',
    hint: 'point the role at the master, or connect through Sentinel (REDIS_SENTINELS)',
  },
  {
    // Redis 7.0 words a refusal inside a Lua script without the NOPERM prefix.
    prefix: /^NOPERM\b|^ERR (The user executing the script can't|ACL failure in script)/,
    code: 'REDIS_NOPERM',
    what: 'refused the command: the ACL user lacks the permission',
    hint: 'grant the user what rqctl needs (docs/acl.md), or log in as a user that has it (REDIS_USERNAME / REDIS_PASSWORD)',
  },
  {
    prefix: /^MISCONF\b/,
    code: 'REDIS_MISCONF',
    what: 'refuses writes because it cannot persist its data (MISCONF)',
    hint: "check the server's log: its RDB/AOF writes fail (disk full or permissions)",
  },
  { prefix: /^LOADING\b/, code: 'REDIS_LOADING', what: 'is still loading its data set into memory', hint: 'retry in a moment' },
  { prefix: /^BUSY\b/, code: 'REDIS_BUSY', what: 'is busy running a long script', hint: 'retry in a moment, or look at SLOWLOG' },
];

/** `where`: which server (`Redis at … (queue role)`); `outcome`: what that means for the operation. */
export function redisRefusal(err: unknown, where = 'Redis', outcome?: string): RqctlError | undefined {
  if (err instanceof RqctlError) return undefined;
  const message = String((err as Error)?.message ?? '');
  // A command refused inside MULTI makes EXEC fail with EXECABORT; the refusal itself is one of the
  // errors of the queued commands (ioredis keeps them in `previousErrors`).
  if (/^EXECABORT\b/.test(message)) {
    const previous = (err as { previousErrors?: unknown }).previousErrors;
    const inner = Array.isArray(previous) ? previous.find((e) => REDIS_REFUSALS.some((r) => r.prefix.test(String((e as Error)?.message ?? '')))) : undefined;
    return inner === undefined ? undefined : redisRefusal(inner, where, outcome);
  }
  const r = REDIS_REFUSALS.find((x) => x.prefix.test(message));
  if (!r) return undefined;
  const what = r.code === 'REDIS_NOPERM' ? missingPermission(message, (err as { command?: { name?: string; args?: unknown[] } }).command) : r.what;
  return new RqctlError(r.code, ExitCode.unreachable, `${where} ${what} (${message.split(/[.\n]/)[0]})${outcome ? `; ${outcome}` : ''}`, {
    hint: r.hint,
    cause: err,
  });
}

/**
 * Which permission an ACL refusal is about, from Redis' reply ("…to run the 'scan' command", "…to
 * access one of the keys…") and the command ioredis attaches to the error: `refused SCAN (the ACL user
 * lacks +scan)`, `refused HSET raffle:1 (a key outside the ACL user's key patterns)`.
 */
function missingPermission(reply: string, command?: { name?: string; args?: unknown[] }): string {
  const sent = command?.name ? `${command.name.toUpperCase()}${typeof command.args?.[0] === 'string' ? ` ${command.args[0].slice(0, 60)}` : ''}` : undefined;
  const cmd = /to run the '([^']+)' command/.exec(reply)?.[1];
  if (cmd) return `refused ${cmd.replace('|', ' ').toUpperCase()}: the ACL user lacks +${cmd}`;
  if (/keys?\b/i.test(reply)) return `refused ${sent ?? 'the command'}: it names a key outside the ACL user's key patterns (~…)`;
  if (/channels?\b/i.test(reply)) return `refused ${sent ?? 'the command'}: a channel outside the ACL user's channel patterns (&…)`;
  return `refused ${sent ?? 'the command'}: the ACL user lacks the permission`;
}
