import { spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { BIN, ROOT, cleanEnv, spawnCli, stopProcess, tempCwd } from './cli.js';
import type { RedisServer } from './redis-server.js';

/**
 * A fingerprint of everything a server holds, every DB (DEBUG DIGEST; the server must run with
 * `--enable-debug-command local`). Equal digests before and after = nothing changed anywhere.
 */
export async function digest(server: RedisServer): Promise<string> {
  const c = server.client();
  try {
    return String(await c.call('DEBUG', 'DIGEST'));
  } finally {
    c.disconnect();
  }
}

/** Polls until `check` returns a truthy value; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string | (() => string), check: () => Promise<T> | T, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}${last ? ` (last error: ${(last as Error).message})` : ''}`,
      );
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const commandCache = new Map<string, boolean>();

/** Whether `rqctl <words…>` is a registered command of the built CLI. */
export function hasCommand(...words: string[]): boolean {
  const k = words.join(' ');
  if (!commandCache.has(k)) {
    const r = spawnSync(process.execPath, [BIN, ...words, '--help'], { env: cleanEnv(), encoding: 'utf8' });
    commandCache.set(k, r.status === 0 && r.stdout.includes(`Usage: rqctl ${k}`));
  }
  return commandCache.get(k)!;
}

/** Runs `tasks` with at most `limit` at a time. */
export async function pool<T>(limit: number, tasks: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, tasks.length) }, async () => {
      for (let i = next++; i < tasks.length; i = next++) results[i] = await tasks[i]();
    }),
  );
  return results;
}

/** Every key of one DB with SCAN (tests only; small DBs). */
export async function allKeys(c: Redis): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await c.scan(cursor, 'COUNT', 1000);
    cursor = next;
    out.push(...keys);
  } while (cursor !== '0');
  return out.sort();
}

export const CHAOS_JOBS = join(ROOT, 'test/chaos/fixtures/chaos-jobs.mjs');

/** A config file for chaos tests: short lock and stall settings, so a crashed job is back in seconds. */
export function chaosCwd(worker: Record<string, unknown> = { lockDurationMs: 2000, stalledIntervalMs: 1000 }): string {
  const cwd = tempCwd();
  writeFileSync(join(cwd, 'rqctl.config.yaml'), stringify({ worker }));
  return cwd;
}

/** An `rqctl worker` process and what it logged (one JSON object per line: stdout is not a TTY). */
export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  /** Every event logged so far. */
  events(): Record<string, any>[];
  output(): string;
  waitForEvent(predicate: (e: Record<string, any>) => boolean, timeoutMs?: number): Promise<Record<string, any>>;
  /** Resolves with the exit code (or signal) once the process has ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function startWorker(env: Record<string, string>, args: string[] = [], cwd = chaosCwd()): Promise<WorkerProcess> {
  const child = spawnCli(['worker', ...(args.includes('--queue') ? [] : ['--queue', 'chaos']), ...args], {
    env: { RQCTL_EXTRA_JOBS: CHAOS_JOBS, ...env },
    cwd,
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const events = () =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, any>];
        } catch {
          return [];
        }
      });
  const w: WorkerProcess = {
    child,
    pid: child.pid!,
    events,
    output: () => out,
    exited,
    waitForEvent: (predicate, timeoutMs = 20_000) =>
      waitFor(
        () => `a worker event (log so far:\n${out.slice(-1500)})`,
        () => events().find(predicate),
        timeoutMs,
        50,
      ) as Promise<Record<string, any>>,
    stop: (signal = 'SIGTERM', timeoutMs?: number) => stopProcess(child, signal, timeoutMs),
  };
  await Promise.race([
    w.waitForEvent((e) => e.event === 'started'),
    exited.then(({ code }) => {
      throw new Error(`rqctl worker exited ${code} before it started:\n${out}`);
    }),
  ]);
  return w;
}

/** How often each job started and applied its effect (see fixtures/chaos-jobs.mjs). */
export async function tally(c: Redis, tag: string): Promise<{ runs: Record<string, number>; effects: Record<string, number> }> {
  const toNumbers = (h: Record<string, string>) => Object.fromEntries(Object.entries(h).map(([k, v]) => [k, Number(v)]));
  const [runs, effects] = await Promise.all([c.hgetall(`chaos:${tag}:runs`), c.hgetall(`chaos:${tag}:effects`)]);
  return { runs: toNumbers(runs), effects: toNumbers(effects) };
}
