import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { generateFiles, renderSupervisord } from '../../src/deploy/generate/generate.js';
import { BIN, ROOT } from '../helpers/cli.js';
import { waitFor } from '../helpers/chaos.js';
import { RedisServer } from '../helpers/redis-server.js';

/**
 * docs/deployment.md: the app container's healthcheck, exactly as the generated compose file runs it,
 * against a real supervisord running the generated supervisord.prod.conf (rendered for local paths).
 * In the container the check finds supervisord through /etc/supervisor/supervisord.conf; here
 * RQCTL_SUPERVISOR_CONF points it at the test's file.
 */
const HAVE_SUPERVISORD = spawnSync('supervisord', ['--version']).status === 0;
if (!HAVE_SUPERVISORD) console.warn('skipping the app healthcheck tests: supervisord is not installed (npm run setup installs it)');

interface Supervisor {
  dir: string;
  conf: string;
  proc: ChildProcess;
  output: () => string;
}
const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => {});
});

function startSupervisor(conf: string, env: Record<string, string>): Supervisor {
  const dir = mkdtempSync(join(tmpdir(), 'rqctl-health-'));
  const file = join(dir, 'supervisord.conf');
  writeFileSync(file, conf.replaceAll('@RUNDIR@', dir));
  const log = join(dir, 'output.log');
  const fd = openSync(log, 'a');
  const proc = spawn('supervisord', ['-c', file], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', ...env },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const s = { dir, conf: file, proc, output: () => readFileSync(log, 'utf8') };
  cleanup.push(async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const gone = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 30_000);
      await gone;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  });
  return s;
}

/** The generated supervisord file for a local run: the real `rqctl`, this user, a temporary run folder. */
function supervisordConf(workers: number): string {
  return renderSupervisord({ workers, concurrency: 1, rqctl: `${process.execPath} ${BIN}`, user: userInfo().username, runDir: '@RUNDIR@' });
}

/** Runs the app service's healthcheck from the generated compose file, the way Docker does. */
async function healthcheck(s: Supervisor): Promise<{ exitCode: number | undefined; output: string }> {
  const compose = parse(generateFiles().find((f) => f.path === 'docker-compose.prod.yml')!.content, { merge: true });
  const test: string[] = compose.services.app.healthcheck.test;
  expect(test[0]).toBe('CMD');
  // The image links the check into /usr/local/bin (docker/Dockerfile); here a PATH entry does.
  const bin = mkdtempSync(join(tmpdir(), 'rqctl-health-bin-'));
  cleanup.push(async () => rmSync(bin, { recursive: true, force: true }));
  mkdirSync(bin, { recursive: true });
  symlinkSync(join(ROOT, 'bin', 'rqctl-healthcheck'), join(bin, 'rqctl-healthcheck'));
  const r = await execa(test[1], test.slice(2), {
    reject: false,
    timeout: 20_000,
    env: { PATH: `${bin}:${process.env.PATH}`, RQCTL_SUPERVISOR_CONF: s.conf },
    extendEnv: false,
  });
  return { exitCode: r.exitCode, output: `${r.stdout}${r.stderr}` };
}

async function states(s: Supervisor): Promise<Record<string, string>> {
  const r = await execa('supervisorctl', ['-c', s.conf, 'status'], { reject: false, timeout: 20_000 });
  return Object.fromEntries(r.stdout.split('\n').flatMap((l) => (/^(\S+)\s+([A-Z]+)\b/.exec(l) ? [[RegExp.$1, RegExp.$2]] : [])));
}

describe.skipIf(!HAVE_SUPERVISORD)('the app container healthcheck', () => {
  it('item 10: the app healthcheck fails while a worker is FATAL (it cannot write: a read-only replica)', async () => {
    const master = await RedisServer.start({ args: ['--maxmemory-policy', 'noeviction'] });
    cleanup.push(() => master.stop());
    const replica = await RedisServer.start({ args: ['--replicaof', '127.0.0.1', String(master.port)] });
    cleanup.push(() => replica.stop());
    // The scheduler runs against the master; the worker's role points at the replica by mistake.
    const conf = supervisordConf(1).replace('[program:rqctl-worker]\n', `[program:rqctl-worker]\nenvironment=REDIS_URL="${replica.url()}"\n`);
    const s = startSupervisor(conf, { REDIS_URL: master.url(), QUEUE_PREFIX: `hc-${process.pid}` });
    // A worker that exits 3 soon after each start is a failed start to supervisord (startsecs): it
    // ends FATAL instead of cycling through RUNNING forever.
    await waitFor(
      () => `rqctl-worker FATAL (supervisord said:\n${s.output().slice(-2000)})`,
      async () => (await states(s))['rqctl-worker:rqctl-worker_00'] === 'FATAL',
      90_000,
      500,
    );
    expect((await states(s))['rqctl-scheduler']).toBe('RUNNING');
    expect(s.output()).toMatch(/exited: rqctl-worker_00 \(exit status 3; not expected\)/);
    const r = await healthcheck(s);
    expect(r.exitCode).not.toBe(0);
    expect(r.output).toMatch(/rqctl-worker:rqctl-worker_00\s+FATAL/);
  }, 120_000);

  it('item 10: healthy only while every rqctl program is RUNNING, whatever their number (a third program FATAL fails it)', async () => {
    const redis = await RedisServer.start({ args: ['--maxmemory-policy', 'noeviction'] });
    cleanup.push(() => redis.stop());
    const extra = `\n[program:rqctl-dashboard]\ncommand=${process.execPath} -e "process.exit(2)"\nautorestart=true\nstartsecs=1\nstartretries=1\n`;
    const healthy = startSupervisor(supervisordConf(2), { REDIS_URL: redis.url(), QUEUE_PREFIX: `hc1-${process.pid}` });
    const broken = startSupervisor(supervisordConf(2) + extra, { REDIS_URL: redis.url(), QUEUE_PREFIX: `hc2-${process.pid}` });
    const expected = ['rqctl-scheduler', 'rqctl-worker:rqctl-worker_00', 'rqctl-worker:rqctl-worker_01'];
    for (const s of [healthy, broken])
      await waitFor(
        () => `the workers and the scheduler RUNNING (supervisord said:\n${s.output().slice(-2000)})`,
        async () => {
          const st = await states(s);
          return expected.every((n) => st[n] === 'RUNNING');
        },
        60_000,
        500,
      );
    const ok = await healthcheck(healthy);
    expect(ok.exitCode, ok.output).toBe(0);
    await waitFor('rqctl-dashboard FATAL', async () => (await states(broken))['rqctl-dashboard'] === 'FATAL', 30_000, 300);
    const r = await healthcheck(broken);
    expect(r.exitCode).not.toBe(0);
    expect(r.output).toMatch(/rqctl-dashboard\s+FATAL/);
  }, 120_000);
});
