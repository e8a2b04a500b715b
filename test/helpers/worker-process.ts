import type { ChildProcess } from 'node:child_process';
import { spawnCli, stopProcess, tempCwd } from './cli.js';

export interface LoggedEvent {
  event: string;
  level: string;
  [k: string]: any;
}

/** A spawned long-running CLI command (`worker`, `up`) whose JSON event lines are collected. */
export class CliProcess {
  readonly child: ChildProcess;
  readonly events: LoggedEvent[] = [];
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private listeners: (() => void)[] = [];

  constructor(args: string[], env: Record<string, string | undefined>, cwd = tempCwd()) {
    this.child = spawnCli(args, { env, cwd });
    let partial = '';
    this.child.stdout!.on('data', (d: Buffer) => {
      this.stdout += d;
      partial += d;
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        try {
          this.events.push(JSON.parse(line));
        } catch {
          /* not an event */
        }
      }
      for (const l of this.listeners) l();
    });
    this.child.stderr!.on('data', (d: Buffer) => {
      this.stderr += d;
      for (const l of this.listeners) l();
    });
    this.child.stdin?.end();
    this.exited = new Promise((r) => this.child.once('exit', (code, signal) => r({ code, signal })));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Resolves with the first event matching `pred` (already logged or to come). */
  waitFor(pred: (e: LoggedEvent) => boolean, timeoutMs = 20_000, what = 'event'): Promise<LoggedEvent> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = this.events.find(pred);
        if (hit) {
          done();
          resolve(hit);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out waiting for ${what}; stdout:\n${this.stdout.slice(-3000)}\nstderr:\n${this.stderr.slice(-2000)}`));
      }, timeoutMs);
      const onExit = () => {
        setTimeout(() => {
          if (this.events.find(pred)) return check();
          done();
          reject(new Error(`process exited before ${what}; stdout:\n${this.stdout.slice(-3000)}\nstderr:\n${this.stderr.slice(-2000)}`));
        }, 50);
      };
      const done = () => {
        clearTimeout(timer);
        this.listeners = this.listeners.filter((l) => l !== check);
        this.child.off('exit', onExit);
      };
      this.listeners.push(check);
      this.child.once('exit', onExit);
      check();
    });
  }

  eventsNamed(name: string): LoggedEvent[] {
    return this.events.filter((e) => e.event === name);
  }

  signal(sig: NodeJS.Signals): void {
    this.child.kill(sig);
  }

  /** Waits for the exit, killing it after timeoutMs. */
  async exit(timeoutMs = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const t = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const r = await this.exited;
    clearTimeout(t);
    return r;
  }

  /** Cleanup: SIGTERM, then SIGKILL if it does not go. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return stopProcess(this.child, 'SIGTERM', 15_000);
  }
}
