import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { renderSupervisord } from '../../src/deploy/generate/generate.js';
import { BIN, ROOT } from '../helpers/cli.js';
import { RedisServer } from '../helpers/redis-server.js';

/**
 * supervisord (the real one) started with the generated supervisord.prod.conf rendered for local
 * paths: the same template, with `rqctl` = a local command, the current user, a temporary run folder.
 */
const HAVE_SUPERVISORD = spawnSync('supervisord', ['--version']).status === 0;
const STAND_IN = join(ROOT, 'test/fixtures/deploy/bin/stand-in-rqctl.mjs');

/** The real `rqctl worker` and `rqctl scheduler` (built by other issues): used as soon as they are on main. */
function realCommand(name: 'worker' | 'scheduler'): boolean {
  if (!existsSync(join(ROOT, 'dist/cli/main.js'))) return false;
  const help = spawnSync(process.execPath, [BIN, name, '--help'], { encoding: 'utf8' }).stdout ?? '';
  return name === 'worker' ? /--timeout/.test(help) : /--once/.test(help);
}
const REAL_WORKER = realCommand('worker');
const REAL_SCHEDULER = realCommand('scheduler');
if (!HAVE_SUPERVISORD) console.warn('skipping the supervisord tests: supervisord is not installed (npm run setup installs it)');
if (!REAL_WORKER || !REAL_SCHEDULER) console.warn('skipping the real worker/scheduler supervisord test: the built rqctl lacks `worker` or `scheduler`');

interface Supervisor {
  dir: string;
  conf: string;
  proc: ChildProcess;
  output: () => string;
}

const running: Supervisor[] = [];
afterEach(async () => {
  for (const s of running.splice(0)) await shutdown(s);
});

async function startSupervisor(rqctl: string, env: Record<string, string>): Promise<Supervisor> {
  const dir = mkdtempSync(join(tmpdir(), 'rqctl-supervisor-'));
  const conf = join(dir, 'supervisord.conf');
  writeFileSync(conf, renderSupervisord({ workers: 3, concurrency: 1, rqctl, user: userInfo().username, runDir: dir }));
  // The programs log to /dev/stdout, which must be a pipe or a file as in a container (a socket, as
  // node gives a child by default, cannot be opened: ENXIO).
  const log = join(dir, 'output.log');
  const fd = openSync(log, 'a');
  const proc = spawn('supervisord', ['-c', conf], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const s = { dir, conf, proc, output: () => readFileSync(log, 'utf8') };
  running.push(s);
  return s;
}

async function ctl(s: Supervisor, ...args: string[]) {
  return execa('supervisorctl', ['-c', s.conf, ...args], { reject: false, timeout: 60_000 });
}

/** `supervisorctl status` lines as {name: state}. */
async function states(s: Supervisor): Promise<Record<string, string>> {
  const r = await ctl(s, 'status');
  const out: Record<string, string> = {};
  for (const line of r.stdout.split('\n')) {
    const m = /^(\S+)\s+(\S+)/.exec(line);
    if (m && !/refused|no such file/i.test(line)) out[m[1]] = m[2];
  }
  return out;
}

async function waitFor<T>(what: string | (() => string), fn: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const EXPECTED = ['rqctl-dashboard', 'rqctl-scheduler', 'rqctl-worker:rqctl-worker_00', 'rqctl-worker:rqctl-worker_01', 'rqctl-worker:rqctl-worker_02'];

async function allRunning(s: Supervisor): Promise<Record<string, string>> {
  return waitFor(
    () => `3 rqctl-worker processes, rqctl-scheduler and rqctl-dashboard RUNNING (supervisord said:\n${s.output().slice(-1500)})`,
    async () => {
      const st = await states(s);
      return EXPECTED.every((n) => st[n] === 'RUNNING') ? st : undefined;
    },
  );
}

async function shutdown(s: Supervisor): Promise<void> {
  if (s.proc.exitCode === null && s.proc.signalCode === null) {
    const gone = new Promise((r) => s.proc.once('exit', r));
    s.proc.kill('SIGTERM');
    const t = setTimeout(() => s.proc.kill('SIGKILL'), 30_000);
    await gone;
    clearTimeout(t);
  }
  rmSync(s.dir, { recursive: true, force: true });
}

describe.skipIf(!HAVE_SUPERVISORD)('supervisord runs the generated supervisord.prod.conf', () => {
  it('with a stand-in worker: 3 rqctl-worker processes and the scheduler RUNNING; `supervisorctl stop` lets a 12 s job finish (longer than supervisord’s default 10 s)', async () => {
    const s = await startSupervisor(`${process.execPath} ${STAND_IN}`, { STANDIN_JOB_MS: '12000' });
    const st = await allRunning(s);
    expect(Object.keys(st).sort()).toEqual(EXPECTED);
    // supervisorctl status exits 0 only when every process runs: what the compose healthcheck relies on.
    expect((await ctl(s, 'status')).exitCode).toBe(0);
    await waitFor('a job in flight on rqctl-worker_01', async () => s.output().includes('"event":"job-started","name":"rqctl-worker_01"'));
    const stop = await ctl(s, 'stop', 'rqctl-worker:rqctl-worker_01');
    expect(stop.stdout).toMatch(/rqctl-worker_01: stopped/);
    const out = s.output();
    const mine = out.split('\n').filter((l) => l.includes('"name":"rqctl-worker_01"'));
    expect(mine.some((l) => l.includes('"event":"stopping"') && l.includes('"running":true'))).toBe(true);
    expect(mine.some((l) => l.includes('"event":"job-done"'))).toBe(true);
    expect(mine.some((l) => l.includes('"event":"drained"'))).toBe(true);
    // supervisord saw a clean exit, not a SIGKILL after stopwaitsecs.
    expect(out).toMatch(/stopped: rqctl-worker_01 \(exit status 0\)/);
    expect(out).not.toMatch(/killing 'rqctl-worker_01'|rqctl-worker_01 \(terminated by SIGKILL/);
    expect((await states(s))['rqctl-worker:rqctl-worker_01']).toBe('STOPPED');
    // The others keep running: one worker's stop is no outage.
    expect((await states(s))['rqctl-worker:rqctl-worker_00']).toBe('RUNNING');
  }, 90_000);

  it.skipIf(!REAL_SCHEDULER)(
    'with the real `rqctl scheduler` (and stand-in workers) against a test Redis: all RUNNING, the scheduler stops with exit 0',
    async () => {
      const redis = await RedisServer.start({ password: 'supervisord-test' });
      try {
        const s = await startSupervisor(`${process.execPath} ${STAND_IN}`, {
          STANDIN_REAL_RQCTL: BIN,
          STANDIN_JOB_MS: '500',
          REDIS_URL: redis.url(0),
          QUEUE_PREFIX: `svs-${process.pid}`,
          // Any free port: 7780 may be another test's.
          DASHBOARD_PORT: '0',
          NO_COLOR: '1',
        });
        await allRunning(s);
        await waitFor('the scheduler to start', async () => /"event":"scheduler\.started"/.test(s.output()));
        const stop = await ctl(s, 'stop', 'rqctl-scheduler');
        expect(stop.stdout).toMatch(/rqctl-scheduler: stopped/);
        expect(s.output()).toMatch(/stopped: rqctl-scheduler \(exit status 0\)/);
      } finally {
        for (const s of running.splice(0)) await shutdown(s);
        await redis.stop();
      }
    },
    90_000,
  );

  it.skipIf(!REAL_WORKER || !REAL_SCHEDULER)(
    'with the real `rqctl worker` and `rqctl scheduler` against a test Redis: all RUNNING, and a stop exits 0',
    async () => {
      const redis = await RedisServer.start({ password: 'supervisord-test' });
      try {
        const s = await startSupervisor(`${process.execPath} ${BIN}`, {
          REDIS_URL: redis.url(0),
          QUEUE_PREFIX: `sv-${process.pid}`,
          DASHBOARD_PORT: '0',
          NO_COLOR: '1',
        });
        await allRunning(s);
        // RUNNING is supervisord's 3 s; on a loaded host a process may still be loading then. Stop
        // them once they said they run, as a deploy would find them.
        await waitFor(
          'the scheduler and the dashboard to start',
          async () => /"event":"scheduler\.started"/.test(s.output()) && /"event":"listening"/.test(s.output()),
        );
        const stop = await ctl(s, 'stop', 'all');
        expect(stop.exitCode).toBe(0);
        for (const n of ['rqctl-worker_00', 'rqctl-worker_01', 'rqctl-worker_02', 'rqctl-scheduler', 'rqctl-dashboard'])
          expect(s.output()).toMatch(new RegExp(`stopped: ${n} \\(exit status 0\\)`));
      } finally {
        for (const s of running.splice(0)) await shutdown(s);
        await redis.stop();
      }
    },
    90_000,
  );
});
