import { afterEach, describe, expect, inject, it } from 'vitest';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { runCli, tempCwd as makeCwd } from '../helpers/cli.js';
import { addJob, eventually, pidAlive, removePrefix, TEST_JOBS, uniquePrefix } from '../helpers/queue.js';
import { freePort } from '../helpers/redis-server.js';
import { CliProcess } from '../helpers/worker-process.js';

const plain = inject('plainRedisUrl');
const started: CliProcess[] = [];
const pids: number[] = [];
const prefixes: string[] = [];
const cwds: string[] = [];

function tempCwd(): string {
  const d = makeCwd();
  cwds.push(d);
  return d;
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => p.stop()));
  // Anything a failed test left (the embedded server, workers) goes, by the pids it reported.
  for (const pid of pids.splice(0)) if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
  for (const prefix of prefixes.splice(0)) await removePrefix(plain, prefix);
  for (const d of cwds.splice(0)) rmSync(d, { recursive: true, force: true });
});

function up(args: string[], env: Record<string, string | undefined>, cwd: string): CliProcess {
  const p = new CliProcess(['up', '--status-interval', '1s', ...args], { RQCTL_EXTRA_JOBS: TEST_JOBS, ...env }, cwd);
  started.push(p);
  return p;
}

async function ready(p: CliProcess) {
  const e = await p.waitFor((x) => x.event === 'ready', 30_000, 'ready');
  if (e.redis.pid) pids.push(e.redis.pid);
  pids.push(...e.workers.pids);
  return e;
}

describe('rqctl up with no Redis configured (embedded redis-server)', () => {
  it('starts redis-server, processes a dispatched job, shows status; Ctrl-C leaves no process behind; a restart keeps the data', async () => {
    const cwd = tempCwd();
    const port = await freePort();
    const p = up(['--redis-port', String(port)], {}, cwd);
    const info = await ready(p);
    expect(info.redis).toMatchObject({ embedded: true, port, adopted: false });
    expect(info.redis.url).toBe(`redis://:****@127.0.0.1:${port}/0`);
    expect(info.queues).toEqual(['default', 'emails']);
    expect(info.workers).toMatchObject({ count: 1, concurrency: 3 });
    expect(info.scheduler).toBe('running');
    expect(info.nextRuns.map((n: any) => n.name)).toContain('raffles:update-statuses');
    for (const n of info.nextRuns) expect(Date.parse(n.next)).toBeGreaterThan(Date.now() - 1000);

    // The password: generated, 0600, on no command line.
    const passwordFile = join(cwd, '.rqctl', 'redis-password');
    const password = readFileSync(passwordFile, 'utf8').trim();
    expect(password.length).toBeGreaterThanOrEqual(24);
    expect(statSync(passwordFile).mode & 0o777).toBe(0o600);
    expect(statSync(join(cwd, '.rqctl', 'redis.conf')).mode & 0o777).toBe(0o600);
    expect(readFileSync(`/proc/${info.redis.pid}/cmdline`, 'utf8')).not.toContain(password);
    expect(p.stdout + p.stderr).not.toContain(password);

    const admin = new Redis({ host: '127.0.0.1', port, password, lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await admin.connect();
      expect(await admin.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
      expect(await admin.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
      expect(await admin.config('GET', 'bind')).toEqual(['bind', '127.0.0.1']);
      expect(await admin.config('GET', 'dir')).toEqual(['dir', join(cwd, '.rqctl', 'redis')]);
      await admin.set('kept-across-restarts', 'yes');
    } finally {
      admin.disconnect();
    }

    await p.waitFor((e) => e.event === 'started' && e.worker === 1, 20_000, 'the worker');
    const id = await addJob(`redis://:${encodeURIComponent(password)}@127.0.0.1:${port}/0`, 'bull', 'default', 'TestNoop', { n: 42 });
    const done = await p.waitFor((e) => e.event === 'processed' && e.id === id, 20_000, 'the job processed');
    expect(done).toMatchObject({ worker: 1, job: 'TestNoop', queue: 'default' });
    const status = await p.waitFor((e) => e.event === 'status' && e.processed >= 1, 10_000, 'a status line counting it');
    expect(status.queues.map((q: any) => q.name)).toEqual(['default', 'emails']);
    expect(status.redisOk).toBe(true);

    const workerPid = info.workers.pids[0];
    p.signal('SIGINT');
    const r = await p.exit(30_000);
    expect(r.code).toBe(0);
    expect(pidAlive(info.redis.pid)).toBe(false);
    expect(pidAlive(workerPid)).toBe(false);
    expect(existsSync(join(cwd, '.rqctl', 'redis.json'))).toBe(false);

    // Same directory again: same password, same data.
    const again = up(['--redis-port', String(await freePort()), '--no-scheduler'], {}, cwd);
    const info2 = await ready(again);
    expect(info2.scheduler).toBe('disabled');
    const c = new Redis({ host: '127.0.0.1', port: info2.redis.port, password, lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await c.connect();
      expect(await c.get('kept-across-restarts')).toBe('yes');
    } finally {
      c.disconnect();
    }
    again.signal('SIGINT');
    expect((await again.exit(30_000)).code).toBe(0);
    expect(pidAlive(info2.redis.pid)).toBe(false);
  });

  it('after `rqctl up` is SIGKILLed its worker exits by itself and the next `rqctl up` adopts the server', async () => {
    const cwd = tempCwd();
    const p = up(['--redis-port', String(await freePort()), '--no-scheduler'], {}, cwd);
    const info = await ready(p);
    await p.waitFor((e) => e.event === 'started', 20_000, 'the worker');
    p.signal('SIGKILL');
    await p.exit();
    await eventually(async () => !pidAlive(info.workers.pids[0]), 15_000, 'the orphaned worker to exit');
    expect(pidAlive(info.redis.pid)).toBe(true);

    const next = up(['--no-scheduler', '--redis-port', String(await freePort())], {}, cwd);
    const info2 = await ready(next);
    expect(info2.redis).toMatchObject({ adopted: true, pid: info.redis.pid, port: info.redis.port });
    next.signal('SIGINT');
    expect((await next.exit(30_000)).code).toBe(0);
    expect(pidAlive(info.redis.pid)).toBe(false);
  });

  it('without redis-server on PATH: the install commands, exit 3, nothing created', async () => {
    const cwd = tempCwd();
    const r = await runCli(['up'], { cwd, env: { PATH: '/nonexistent' } });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('redis-server was not found on PATH');
    expect(r.stderr).toContain('apt-get install redis-server');
    expect(r.stderr).toContain('brew install redis');
    expect(r.stderr).toContain('REDIS_URL');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(cwd, '.rqctl'))).toBe(false);
  });
});

describe('rqctl up with a configured Redis', () => {
  it('runs against it (no embedded server), with N worker processes', async () => {
    const cwd = tempCwd();
    const prefix = uniquePrefix('up');
    prefixes.push(prefix);
    const p = up(['--workers', '2', '--concurrency', '2', '--no-scheduler', '--queue', 'uq'], { REDIS_URL: plain, QUEUE_PREFIX: prefix }, cwd);
    const info = await ready(p);
    expect(info.redis.embedded).toBe(false);
    expect(info.workers).toMatchObject({ count: 2, concurrency: 2 });
    expect(new Set(info.workers.pids).size).toBe(2);
    await eventually(async () => p.eventsNamed('started').length === 2, 20_000, 'two workers');
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(await addJob(plain, prefix, 'uq', 'TestSlow', { ms: 300 }));
    await eventually(async () => ids.every((id) => p.events.some((e) => e.event === 'processed' && e.id === id)), 20_000, 'four jobs');
    expect(existsSync(join(cwd, '.rqctl'))).toBe(false);

    // A worker that dies is replaced, like supervisord would.
    process.kill(info.workers.pids[0], 'SIGKILL');
    const exited = await p.waitFor((e) => e.event === 'worker-exited', 10_000, 'worker-exited');
    expect(exited).toMatchObject({ level: 'warn', signal: 'SIGKILL' });
    const replacement = await p.waitFor(
      (e) => e.event === 'started' && e.worker === exited.worker && !info.workers.pids.includes(e.pid),
      20_000,
      'the replacement',
    );
    pids.push(replacement.pid);

    p.signal('SIGTERM');
    expect((await p.exit(30_000)).code).toBe(0);
    for (const pid of [...info.workers.pids, replacement.pid]) expect(pidAlive(pid)).toBe(false);
  });

  it('a second Ctrl-C stops the workers at once: exit 130, nothing left', async () => {
    const cwd = tempCwd();
    const prefix = uniquePrefix('up-hard');
    prefixes.push(prefix);
    const p = up(['--no-scheduler', '--queue', 'uq'], { REDIS_URL: plain, QUEUE_PREFIX: prefix }, cwd);
    const info = await ready(p);
    await p.waitFor((e) => e.event === 'started', 20_000, 'the worker');
    await addJob(plain, prefix, 'uq', 'TestSlow', { ms: 60_000 });
    await p.waitFor((e) => e.event === 'slow-started', 20_000, 'the slow job');
    p.signal('SIGINT');
    await p.waitFor((e) => e.event === 'stopping' && e.worker === 1, 10_000, 'the worker stopping');
    p.signal('SIGINT');
    expect((await p.exit(15_000)).code).toBe(130);
    expect(pidAlive(info.workers.pids[0])).toBe(false);
  });

  it('an unreachable configured Redis exits 3 and starts nothing', async () => {
    const cwd = tempCwd();
    const r = await runCli(['up'], { cwd, env: { REDIS_URL: 'redis://127.0.0.1:1/0' } });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/refused the connection/);
    expect(existsSync(join(cwd, '.rqctl'))).toBe(false);
  });
});
