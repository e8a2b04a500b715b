import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { generateFiles } from '../../src/deploy/generate/generate.js';
import { parseRedisConf } from '../../src/deploy/validate/redis-conf.js';
import { REDIS_VERSION } from '../../src/deploy/validate/redis-directives.js';
import { versionOfImage } from '../../src/deploy/validate/redis-versions.js';
import { freePort } from '../helpers/redis-server.js';

/**
 * redis-server 7 started with each generated redis.conf, the way compose starts it (the config file,
 * then `--requirepass`), with port, bind and dir overridden for a test: 127.0.0.1 and a free port.
 */
const PASSWORD = 'generated-conf-test-password';
const split = Object.fromEntries(generateFiles({ topology: 'split' }).map((f) => [f.path, f.content]));
const single = Object.fromEntries(generateFiles({ topology: 'single' }).map((f) => [f.path, f.content]));
const files: Record<string, string> = { ...split, 'docker/redis.conf': single['docker/redis.conf'] };
const dirs: string[] = [];
const procs: ChildProcess[] = [];

afterAll(async () => {
  for (const p of procs) {
    if (p.exitCode === null && p.signalCode === null) {
      const gone = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      await gone;
    }
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'rqctl-genconf-'));
  dirs.push(d);
  return d;
}

async function startWithConf(conf: string): Promise<{ port: number; client: (password?: string) => Redis }> {
  const dir = tempDir();
  const file = join(dir, 'redis.conf');
  writeFileSync(file, conf);
  const port = await freePort();
  const proc = spawn('redis-server', [file, '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--requirepass', PASSWORD], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  procs.push(proc);
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const client = (password?: string) => {
    const c = new Redis({ host: '127.0.0.1', port, password, maxRetriesPerRequest: 1, retryStrategy: () => null, lazyConnect: true });
    c.on('error', () => {});
    return c;
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`redis-server refused the generated config:\n${out}`);
    const c = client(PASSWORD);
    try {
      await c.connect();
      await c.ping();
      c.disconnect();
      return { port, client };
    } catch {
      c.disconnect();
      if (Date.now() > deadline) throw new Error(`redis-server did not come up:\n${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** One inline command on a fresh TCP connection; the first reply line. */
function rawCommand(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(`${command}\r\n`));
    let data = '';
    socket.on('data', (d) => {
      data += d;
      if (data.includes('\r\n')) {
        socket.destroy();
        resolve(data.split('\r\n')[0]);
      }
    });
    socket.on('error', reject);
    socket.setTimeout(5000, () => {
      socket.destroy();
      reject(new Error(`no reply to ${command}`));
    });
  });
}

async function configGet(c: Redis, name: string): Promise<string> {
  return ((await c.call('CONFIG', 'GET', name)) as string[])[1];
}

const healthcheck = (() => {
  const compose = parse(split['docker-compose.prod.yml'], { merge: true });
  const tests = ['redis-cache', 'redis-queue'].map((s) => compose.services[s].healthcheck.test as string[]);
  expect(tests[1]).toEqual(tests[0]);
  expect(parse(single['docker-compose.prod.yml'], { merge: true }).services.redis.healthcheck.test).toEqual(tests[0]);
  return tests[0];
})();

describe.each([
  ['docker/redis-cache.conf', { maxmemory: String(256 * 1024 ** 2), policy: 'allkeys-lru', aof: 'no' }],
  ['docker/redis-queue.conf', { maxmemory: String(512 * 1024 ** 2), policy: 'noeviction', aof: 'yes' }],
  ['docker/redis.conf', { maxmemory: String(256 * 1024 ** 2), policy: 'allkeys-lru', aof: 'yes' }],
])('redis-server runs the generated %s', (name, expected) => {
  let server: Awaited<ReturnType<typeof startWithConf>>;
  it('starts, requires the password, has FLUSHDB/FLUSHALL gone, and the memory settings as generated', async () => {
    server = await startWithConf(files[name]);
    // Without the password: what any client on the network would get (raw RESP, as redis-cli sends it).
    expect(await rawCommand(server.port, 'PING')).toMatch(/^-NOAUTH/);
    expect(await rawCommand(server.port, 'GET some-key')).toMatch(/^-NOAUTH/);
    expect(await rawCommand(server.port, 'AUTH not-the-password')).toMatch(/^-WRONGPASS/);

    const c = server.client(PASSWORD);
    await c.connect();
    await c.set('rqctl:genconf:probe', '1');
    await expect(c.call('FLUSHDB')).rejects.toThrow(/unknown command/i);
    await expect(c.call('FLUSHALL')).rejects.toThrow(/unknown command/i);
    expect(await c.get('rqctl:genconf:probe')).toBe('1');
    expect(await configGet(c, 'maxmemory')).toBe(expected.maxmemory);
    expect(await configGet(c, 'maxmemory-policy')).toBe(expected.policy);
    expect(await configGet(c, 'appendonly')).toBe(expected.aof);
    expect(await configGet(c, 'protected-mode')).toBe('yes');
    expect(await configGet(c, 'enable-debug-command')).toBe('no');
    c.disconnect();
  });

  it('passes the compose healthcheck with REDISCLI_AUTH from the environment, and fails it without', async () => {
    expect(healthcheck[0]).toBe('CMD-SHELL');
    const script = healthcheck[1].replace(/^redis-cli/, `redis-cli -p ${server.port}`);
    const env = { PATH: process.env.PATH };
    expect(spawnSync('sh', ['-c', script], { env: { ...env, REDISCLI_AUTH: PASSWORD } }).status).toBe(0);
    expect(spawnSync('sh', ['-c', script], { env }).status).not.toBe(0);
  });
});

describe('the generated queue server', () => {
  it('carries a BullMQ job from producer to worker and back', async () => {
    const { port } = await startWithConf(files['docker/redis-queue.conf']);
    const connection = { host: '127.0.0.1', port, password: PASSWORD, maxRetriesPerRequest: null };
    const name = `genconf-${process.pid}`;
    const queue = new Queue(name, { connection });
    const events = new QueueEvents(name, { connection });
    const worker = new Worker(name, async (job) => ({ doubled: (job.data as { n: number }).n * 2 }), { connection });
    try {
      await events.waitUntilReady();
      const job = await queue.add('double', { n: 21 });
      expect(await job.waitUntilFinished(events, 15_000)).toEqual({ doubled: 42 });
    } finally {
      await worker.close();
      await events.close();
      await queue.close();
    }
  });
});

describe('redis-conf-invalid agrees with redis-server 7', () => {
  // Each line alone, in a file: does redis-server load it? `--port 0` listens nowhere, so the server
  // exits right after loading the configuration either way.
  function redisLoads(line: string): { loaded: boolean; output: string } {
    const dir = tempDir();
    writeFileSync(join(dir, 'probe.conf'), `${line}\n`);
    const r = spawnSync('redis-server', [join(dir, 'probe.conf'), '--port', '0', '--dir', dir, '--logfile', ''], { encoding: 'utf8', timeout: 10_000 });
    const output = `${r.stdout}${r.stderr}`;
    return { loaded: /Configuration loaded/.test(output), output };
  }

  const lines = [
    'maxmemory 256mb # the cache',
    'maxmemory-policy allkeys-lru-please',
    'appendonly maybe',
    'save 900',
    'no-such-directive yes',
    'rename-command FLUSHD ""',
    'tcp-keepalive three hundred',
    'requirepass "unbalanced',
    "requirepass 'a'b",
    'maxmemory 1.5gb',
    'slaveof host',
    'client-output-buffer-limit normal 0 0',
    'user default on nopass ~* +@all # full access',
    'maxmemory 256mb',
    'MaxMemory-Policy NoEviction',
    'requirepass "#not-a-comment"',
    'save ""',
    'save "900 1 300 10"',
    `user app on #${'ab'.repeat(32)} ~* &* +@all -flushdb`,
    'rename-command flushall ""',
    'client-output-buffer-limit pubsub 32mb 8mb 60',
    'bind 127.0.0.1 -::1',
    'list-max-ziplist-entries 512',
    'enable-debug-command local',
  ];
  it.each(lines)('%s', (line) => {
    // Judged as the installed redis-server's version (7.0, the generated table's) reads it.
    const { directives, problems } = parseRedisConf(line, 'probe.conf', versionOfImage(`redis:${REDIS_VERSION}`));
    const actual = redisLoads(line);
    expect(
      problems.length === 0,
      `rqctl: ${problems.map((p) => p.message).join('; ') || 'accepted'}; redis-server: ${actual.loaded ? 'loaded' : actual.output.split('\n').slice(-4).join(' | ')}`,
    ).toBe(actual.loaded);
    expect(directives.length + problems.length).toBe(1);
  });
});
