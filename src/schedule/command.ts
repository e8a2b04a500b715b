import { execa } from 'execa';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

/** After SIGTERM, how long a command may take to exit before SIGKILL. */
export const KILL_GRACE_MS = 5000;
/** Output lines logged per run; a chatty command must not flood the scheduler's log. */
const MAX_LINES = 1000;
const MAX_LINE_LENGTH = 4000;

export interface CommandResult {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  /** Stopped by the scheduler's shutdown (second signal). */
  killed: boolean;
  durationMs: number;
  /** Could not start (no /bin/sh, …). */
  error?: string;
}

export interface RunningCommand {
  pid?: number;
  result: Promise<CommandResult>;
  /** SIGTERM to the whole process group, SIGKILL after the grace period. */
  stop(): void;
}

export interface RunCommandOptions {
  timeoutMs: number;
  killGraceMs?: number;
  /** Added to the inherited environment. */
  env?: Record<string, string>;
  cwd?: string;
  onLine?(stream: 'stdout' | 'stderr', line: string): void;
  onTruncated?(): void;
}

/**
 * Runs a scheduled command through `/bin/sh -c`, like cron does. The shell gets its own process group
 * so that a timeout stops the whole command (`a && b`, pipes, background children), not just the
 * shell: killing only `sh` would leave its children running and holding the output pipes open.
 */
export function runShellCommand(command: string, options: RunCommandOptions): RunningCommand {
  const started = Date.now();
  const grace = options.killGraceMs ?? KILL_GRACE_MS;
  const sub = execa('/bin/sh', ['-c', command], {
    detached: true,
    cleanup: false,
    reject: false,
    buffer: false,
    stdin: 'ignore',
    cwd: options.cwd,
    env: options.env,
    extendEnv: true,
  });
  let timedOut = false;
  let killed = false;
  let killTimer: NodeJS.Timeout | undefined;
  let lines = 0;

  const signalGroup = (sig: NodeJS.Signals) => {
    if (sub.pid === undefined) return;
    try {
      process.kill(-sub.pid, sig);
    } catch {
      try {
        sub.kill(sig);
      } catch {
        /* already gone */
      }
    }
  };
  const terminate = () => {
    signalGroup('SIGTERM');
    killTimer ??= setTimeout(() => signalGroup('SIGKILL'), grace);
  };
  const timer = setTimeout(() => {
    timedOut = true;
    terminate();
  }, options.timeoutMs);

  const follow = (stream: Readable | null, name: 'stdout' | 'stderr') => {
    if (!stream) return;
    const rl = createInterface({ input: stream, crlfDelay: Infinity });
    rl.on('line', (line) => {
      lines++;
      if (lines <= MAX_LINES) options.onLine?.(name, line.length > MAX_LINE_LENGTH ? `${line.slice(0, MAX_LINE_LENGTH)}…` : line);
      else if (lines === MAX_LINES + 1) options.onTruncated?.();
    });
  };
  follow(sub.stdout, 'stdout');
  follow(sub.stderr, 'stderr');

  const result = (async (): Promise<CommandResult> => {
    const r = await sub;
    clearTimeout(timer);
    if (killTimer) clearTimeout(killTimer);
    const startFailed = r.exitCode === undefined && r.signal === undefined;
    return {
      exitCode: r.exitCode ?? null,
      signal: r.signal ?? null,
      timedOut,
      killed,
      durationMs: Date.now() - started,
      error: startFailed ? (r.originalMessage || r.shortMessage || 'could not start /bin/sh').split('\n')[0] : undefined,
    };
  })();

  return {
    pid: sub.pid,
    result,
    stop: () => {
      killed = true;
      terminate();
    },
  };
}
