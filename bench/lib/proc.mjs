// Runs one command as a child process and measures what an operator would: wall time from spawn to
// exit, and peak RSS (VmHWM from /proc, sampled every few ms while it runs).
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

function readPeakRssKb(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * @param {string} cmd
 * @param {string[]} args
 * @param {{env?: NodeJS.ProcessEnv, cwd?: string, countLines?: boolean, keepStdout?: boolean, timeoutMs?: number, rssEveryMs?: number}} options
 * @returns {Promise<{ms: number, code: number|null, signal: string|null, peakRssMb: number, lines: number, stdout: string, stderr: string}>}
 */
export function runMeasured(cmd, args, options = {}) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { env: options.env ?? process.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let peakKb = 0;
    let lines = 0;
    let stdout = '';
    let stderr = '';
    const sampler = options.rssEveryMs === 0 ? undefined : setInterval(() => (peakKb = Math.max(peakKb, readPeakRssKb(child.pid))), options.rssEveryMs ?? 5);
    child.stdout?.on('data', (d) => {
      if (options.countLines) for (let i = d.indexOf(10); i !== -1; i = d.indexOf(10, i + 1)) lines++;
      if (options.keepStdout) stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
      if (stderr.length > 20_000) stderr = stderr.slice(-10_000);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 600_000);
    child.on('error', reject);
    child.on('exit', () => {
      // One last sample while /proc may still hold the zombie's figures.
      peakKb = Math.max(peakKb, readPeakRssKb(child.pid));
    });
    child.on('close', (code, signal) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      clearTimeout(timer);
      if (sampler) clearInterval(sampler);
      resolve({ ms, code, signal, peakRssMb: peakKb / 1024, lines, stdout, stderr });
    });
  });
}

/** Throws with the command's stderr when it did not exit 0. */
export function mustSucceed(what, res) {
  if (res.code !== 0) throw new Error(`${what} exited ${res.code ?? res.signal}: ${res.stderr.slice(-1500)}`);
  return res;
}

/**
 * Starts a long-running process (a worker), draining its output so it never blocks on a full pipe.
 * `stop()` sends SIGTERM and waits for the exit (SIGKILL after `graceMs`).
 */
export function startBackground(cmd, args, options = {}) {
  // stdoutFile: the process logs into a file, as under supervisord's stdout_logfile, so the cost of
  // its log lines is the write itself, not how fast this harness drains a pipe.
  const out = options.stdoutFile ? openSync(options.stdoutFile, 'a') : 'pipe';
  const child = spawn(cmd, args, { env: options.env ?? process.env, cwd: options.cwd, stdio: ['ignore', out, 'pipe'] });
  if (typeof out === 'number') closeSync(out);
  let tail = '';
  let lines = 0;
  let peakKb = 0;
  const keep = (d) => {
    tail += d;
    if (tail.length > 8000) tail = tail.slice(-4000);
  };
  child.stdout?.on('data', (d) => {
    for (let i = d.indexOf(10); i !== -1; i = d.indexOf(10, i + 1)) lines++;
    keep(d);
  });
  child.stderr.on('data', keep);
  const sampler = setInterval(() => (peakKb = Math.max(peakKb, readPeakRssKb(child.pid))), 200);
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      clearInterval(sampler);
      resolve({ code, signal });
    }),
  );
  return {
    child,
    exited,
    get lines() {
      return lines;
    },
    get tail() {
      return tail;
    },
    get peakRssMb() {
      return Math.max(peakKb, readPeakRssKb(child.pid)) / 1024;
    },
    async stop(graceMs = 20_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
        const res = await exited;
        clearTimeout(t);
        return res;
      }
      return exited;
    },
  };
}

/** Polls `check` until it returns a truthy value; throws after `timeoutMs` with `what`. */
export async function waitUntil(what, check, { timeoutMs = 120_000, everyMs = 100 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
