import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './cli.js';
import { CliProcess, type LoggedEvent } from './worker-process.js';

/** Where the browser tests keep their screenshots (git-ignored). */
export const ARTIFACTS = join(ROOT, 'test-artifacts');

export function artifactPath(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}

/** A running `rqctl dashboard` on a free port; its stdout (--json) says where it listens, stderr carries its log. */
export class DashboardProcess {
  private constructor(
    readonly proc: CliProcess,
    readonly url: string,
  ) {}

  static async start(args: string[], env: Record<string, string | undefined>, cwd?: string): Promise<DashboardProcess> {
    const proc = new CliProcess(['--json', 'dashboard', '--port', '0', ...args], env, cwd);
    try {
      const ready = await proc.waitFor((e) => e.event === 'listening', 30_000, 'the dashboard to listen');
      return new DashboardProcess(proc, String(ready.url));
    } catch (e) {
      await proc.stop();
      throw e;
    }
  }

  /** The dashboard's log lines (JSON on stderr). */
  logEvents(): LoggedEvent[] {
    return this.proc.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as LoggedEvent];
        } catch {
          return [];
        }
      });
  }

  fetch(path: string, init: RequestInit = {}): Promise<Response> {
    return fetch(new URL(path, this.url), init);
  }

  async stop(): Promise<void> {
    await this.proc.stop();
  }
}

/** A fresh, empty Chromium profile for each browser. */
export function freshProfile(): string {
  return mkdtempSync(join(tmpdir(), 'rqctl-chromium-'));
}
