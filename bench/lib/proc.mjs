// Runs one command as a child process and measures what an operator would: wall time from spawn to
// exit, and peak RSS (VmHWM from /proc, sampled every few ms while it runs).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

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
    child.stdout.on('data', (d) => {
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
