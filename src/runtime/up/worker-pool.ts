import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { EventLog, RuntimeEvent } from '../events.js';

export interface WorkerPoolOptions {
  /** Working directory of the workers. */
  cwd: string;
  /** Worker processes to keep running. */
  count: number;
  concurrency: number;
  queues: string[];
  /** How to start one worker process: `node bin/rqctl.js worker [global flags]`, and its environment. */
  command: { command: string; args: string[]; env: NodeJS.ProcessEnv };
  /** The embedded server, when there is one: the workers find it through their environment. */
  embedded?: { url: string; password: string };
  log: EventLog;
}

/** Jobs the workers reported since `rqctl up` started. */
export interface JobCounters {
  processed: number;
  failed: number;
  retried: number;
}

interface Child {
  /** 1…count: stays with the slot across respawns, so log lines say which worker. */
  index: number;
  proc?: ChildProcess;
  startedAt: number;
  /** Consecutive quick crashes: the respawn backoff grows with them. */
  failures: number;
  restartTimer?: NodeJS.Timeout;
  exited?: Promise<void>;
}

/** A worker line on stdout: a JSON event (without its time: ours is added), else plain output. */
function parseWorkerLine(line: string): RuntimeEvent {
  try {
    const parsed = JSON.parse(line) as RuntimeEvent & { time?: string };
    if (parsed && typeof parsed.event === 'string') {
      const { time: _time, ...rest } = parsed;
      return rest;
    }
  } catch {
    /* not a JSON event */
  }
  return { event: 'worker-output', msg: line };
}

/**
 * `rqctl up`'s worker processes, supervised the way supervisord supervises them in production: each
 * one a `rqctl worker` child, respawned when it exits (at once after exit 0: worker restart,
 * --max-jobs, --memory; with a backoff up to 30 s when it keeps crashing). Their log lines are
 * forwarded with the worker's index, and their job outcomes counted for the status.
 */
export class WorkerPool {
  readonly counters: JobCounters = { processed: 0, failed: 0, retried: 0 };
  private readonly children: Child[] = [];
  private readonly env: NodeJS.ProcessEnv;
  private halted = false;

  constructor(private readonly options: WorkerPoolOptions) {
    this.env = { ...options.command.env };
    if (options.embedded) {
      // The environment, not the command line: `ps` shows arguments to every user.
      this.env.REDIS_URL = options.embedded.url;
      this.env.REDIS_PASSWORD = options.embedded.password;
    }
  }

  start(): void {
    for (let i = 1; i <= this.options.count; i++) {
      const child: Child = { index: i, startedAt: Date.now(), failures: 0 };
      this.children.push(child);
      this.spawn(child);
    }
  }

  /** Worker processes running now. */
  get running(): number {
    return this.children.filter((c) => c.proc).length;
  }

  /** Their pids (0 for one that is not running). */
  get pids(): number[] {
    return this.children.map((c) => c.proc?.pid ?? 0);
  }

  /** From now on a worker that exits is not replaced. */
  halt(): void {
    this.halted = true;
  }

  /** SIGTERM to every worker: the first makes them finish their jobs; a second one, exit at once (130). */
  signal(): void {
    for (const c of this.children) c.proc?.kill('SIGTERM');
  }

  /** Stops every worker gracefully and waits until they have exited. */
  async close(): Promise<void> {
    this.halt();
    for (const c of this.children) if (c.restartTimer) clearTimeout(c.restartTimer);
    this.signal();
    await Promise.all(this.children.map((c) => c.exited));
  }

  private spawn(child: Child): void {
    const { options } = this;
    const args = [...options.command.args, '--concurrency', String(options.concurrency), '--queue', options.queues.join(',')];
    // Own process group: a terminal's Ctrl-C reaches `rqctl up` only, which stops the workers
    // first and Redis last. The IPC channel tells a worker when `up` is gone, even SIGKILLed.
    const proc = spawn(options.command.command, args, { cwd: options.cwd, env: this.env, detached: true, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    child.proc = proc;
    child.startedAt = Date.now();
    proc.on('error', (err) => options.log({ level: 'error', event: 'worker-spawn-failed', worker: child.index, error: err.message }));
    createInterface({ input: proc.stdout! }).on('line', (line) => this.forward(child, parseWorkerLine(line)));
    createInterface({ input: proc.stderr! }).on('line', (line) => {
      if (line.trim()) options.log({ level: 'warn', event: 'worker-stderr', worker: child.index, msg: line });
    });
    child.exited = new Promise((resolveExit) => {
      proc.once('exit', (code, signal) => {
        child.proc = undefined;
        resolveExit();
        this.exited(child, proc, code, signal);
      });
    });
  }

  private forward(child: Child, e: RuntimeEvent): void {
    const { counters } = this;
    if (e.event === 'processed') counters.processed++;
    if (e.event === 'failed') {
      if (e.retry) counters.retried++;
      else counters.failed++;
    }
    this.options.log({ ...e, worker: child.index });
  }

  private exited(child: Child, proc: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.halted) return;
    const ranMs = Date.now() - child.startedAt;
    child.failures = code === 0 ? 0 : ranMs > 60_000 ? 1 : child.failures + 1;
    // Exit 0 (worker restart, --max-jobs, --memory): at once. A crash loop backs off to 30 s.
    const delayMs = code === 0 ? 0 : Math.min(30_000, 1000 * 2 ** Math.max(0, child.failures - 1));
    this.options.log({ level: code === 0 ? 'info' : 'warn', event: 'worker-exited', worker: child.index, pid: proc.pid, code, signal, restartInMs: delayMs });
    child.restartTimer = setTimeout(() => {
      if (!this.halted) this.spawn(child);
    }, delayMs);
  }
}
