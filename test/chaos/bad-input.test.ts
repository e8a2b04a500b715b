import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { RedisServer, freePort } from '../helpers/redis-server.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { digest, hasCommand, pool } from '../helpers/chaos.js';

/**
 * docs/reliability.md, bad input: a clear one-line message, the documented exit code, no stack trace, and no
 * change anywhere on the server (DEBUG DIGEST over every DB before and after), for every command
 * family that talks to Redis.
 */

const PASSWORD = 'chaos-secret-1';

/** Every command family that connects: its command words, then arguments that would change things. */
const FAMILIES: { cmd: string[]; args?: string[] }[] = [
  { cmd: ['ping'] },
  { cmd: ['doctor'] },
  { cmd: ['queue', 'status'] },
  { cmd: ['queue', 'pause'], args: ['default'] },
  { cmd: ['queue', 'resume'], args: ['default'] },
  { cmd: ['queue', 'clear'], args: ['default', '--yes'] },
  { cmd: ['queue', 'monitor'], args: ['--once'] },
  { cmd: ['failed', 'list'] },
  { cmd: ['failed', 'show'], args: ['1'] },
  { cmd: ['failed', 'retry'], args: ['all'] },
  { cmd: ['failed', 'forget'], args: ['1', '--yes'] },
  { cmd: ['failed', 'flush'], args: ['--yes'] },
  { cmd: ['failed', 'export'] },
  { cmd: ['dispatch'], args: ['SendEmail', '--data', '{"template":"new-inquiry","data":{"name":"Ann","email":"ann@example.com","message":"Hello"}}'] },
  { cmd: ['worker'], args: ['--stop-when-empty'] },
  { cmd: ['worker', 'restart'] },
  { cmd: ['workers'] },
  { cmd: ['scheduler'], args: ['--once'] },
  { cmd: ['schedule', 'sync'] },
  { cmd: ['cache', 'get'], args: ['stock_quote_seed'] },
  { cmd: ['cache', 'forget'], args: ['stock_quote_seed'] },
  { cmd: ['cache', 'clear'], args: ['--prefix', 'stock_quote_', '--yes'] },
  { cmd: ['cache', 'stats'] },
  { cmd: ['keys'] },
  { cmd: ['keys', 'show'], args: ['stock_quote_seed'] },
  { cmd: ['keys', 'big'] },
  { cmd: ['stats'] },
  { cmd: ['monitor'], args: ['--duration', '1s'] },
  { cmd: ['raffles', 'list'] },
];

/** One command per group, for the inputs that take the same path as another (a URL, a password). */
const SAMPLE = new Set(['ping', 'dispatch', 'worker', 'queue status', 'failed list', 'cache get', 'keys', 'stats', 'scheduler']);

/** The families the built CLI has (every one, once all command groups have landed). */
const present = () => FAMILIES.filter((f) => hasCommand(...f.cmd)).map((f) => [...f.cmd, ...(f.args ?? [])]);

function expectCleanError(r: CliResult, exitCode: number, message: RegExp, what: string): void {
  expect(r.exitCode, `${what}: exit code (stderr: ${r.stderr.slice(0, 400)})`).toBe(exitCode);
  expect(r.stderr, `${what}: no stack trace`).not.toMatch(/\n\s+at .*:\d+:\d+/);
  expect(r.stderr, `${what}: the password never shows`).not.toContain(PASSWORD);
  expect(r.stderr + r.stdout, `${what}: the wrong password never shows`).not.toContain('wrong-pass-2');
}

describe('bad input, every command family', () => {
  let server: RedisServer;
  let deadPort: number;
  let before: string;

  beforeAll(async () => {
    server = await RedisServer.start({ password: PASSWORD, args: ['--enable-debug-command', 'local', '--maxmemory-policy', 'noeviction'] });
    deadPort = await freePort();
    // Something to lose in every role: waiting and failed jobs, cache keys (one binary), a session.
    const connection = { host: '127.0.0.1', port: server.port, password: PASSWORD };
    const q = new Queue('default', { connection });
    await q.addBulk([1, 2, 3].map((i) => ({ name: 'FetchStockData', data: { method: 'getStockQuote', params: { symbol: `S${i}` } } })));
    await q.close();
    const c = server.client();
    await c.select(1);
    await c.set('stock_quote_seed', '{"c":1}', 'EX', 1200);
    await c.set(Buffer.from([0x73, 0xff, 0xfe, 0x00]), 'binary');
    await c.select(2);
    await c.set('laravel_session:abc', 'x');
    c.disconnect();
    before = await digest(server);
  });

  afterAll(async () => {
    await server?.stop();
  });

  /** `all`: across every family; otherwise one command of each group (the same connection code). */
  const CONNECTION_CASES: { name: string; env: () => Record<string, string>; exit: number; message: RegExp; all?: boolean }[] = [
    {
      name: 'a malformed URL',
      env: () => ({ REDIS_URL: `redis://127.0.0.1:notaport/0`, REDIS_PASSWORD: PASSWORD }),
      exit: 2,
      message: /REDIS_URL.*not a valid URL/,
      all: true,
    },
    {
      name: 'a URL with an unknown scheme',
      env: () => ({ REDIS_URL: `http://127.0.0.1:${server.port}/0`, REDIS_PASSWORD: PASSWORD }),
      exit: 2,
      message: /unsupported scheme "http"/,
    },
    {
      name: 'a DB index out of range',
      env: () => ({ REDIS_URL: `redis://127.0.0.1:${server.port}/16`, REDIS_PASSWORD: PASSWORD }),
      exit: 2,
      message: /database "16" is not an integer 0–15/,
      all: true,
    },
    {
      name: 'a DB index that is not a number',
      env: () => ({ REDIS_URL: `redis://127.0.0.1:${server.port}/0`, REDIS_CACHE_DB: 'abc', REDIS_PASSWORD: PASSWORD }),
      exit: 2,
      message: /REDIS_CACHE_DB/,
    },
    {
      name: 'a wrong password',
      env: () => ({ REDIS_URL: `redis://127.0.0.1:${server.port}/0`, REDIS_PASSWORD: 'wrong-pass-2' }),
      exit: 3,
      message: /refused the password/,
      all: true,
    },
    {
      name: 'a wrong password inside the URL',
      env: () => ({ REDIS_URL: `redis://:wrong-pass-2@127.0.0.1:${server.port}/0` }),
      exit: 3,
      message: /refused the password/,
    },
    { name: 'no password', env: () => ({ REDIS_URL: `redis://127.0.0.1:${server.port}/0` }), exit: 3, message: /requires a password/ },
    {
      name: 'REDIS_CLUSTER=true on a standalone server',
      env: () => ({ REDIS_URL: `redis://127.0.0.1:${server.port}/0`, REDIS_PASSWORD: PASSWORD, REDIS_CLUSTER: 'true' }),
      exit: 2,
      message: /standalone server, but REDIS_CLUSTER=true/,
      all: true,
    },
    {
      name: 'nothing listening',
      env: () => ({ REDIS_URL: `redis://127.0.0.1:${deadPort}/0`, REDIS_PASSWORD: PASSWORD }),
      exit: 3,
      message: /refused the connection/,
      all: true,
    },
  ];

  for (const bad of CONNECTION_CASES) {
    it(`${bad.name}: every command family says so, exits ${bad.exit} and changes nothing`, async () => {
      const families = present().filter((f) => bad.all || SAMPLE.has(f.slice(0, 2).join(' ')) || SAMPLE.has(f[0]));
      expect(families.length).toBeGreaterThan(0);
      const results = await pool(
        3,
        families.map((args) => () => runCli([...args, '--json'], { env: bad.env(), timeoutMs: 30_000 }).then((r) => ({ args, r }))),
      );
      for (const { args, r } of results) {
        const what = `rqctl ${args.join(' ')} with ${bad.name}`;
        if (args[0] === 'doctor' && r.stdout.trim()) {
          // doctor's result IS the diagnosis: the failed checks carry the message and the fix; its
          // exit code is 3 (unreachable), 4 (a check failed) or the input's own.
          expect([bad.exit, 3, 4], `${what}: exit code`).toContain(r.exitCode);
          const failed = (r.json?.checks ?? []).filter((c: { status: string }) => c.status === 'fail');
          expect(failed.length, `${what}: failed checks`).toBeGreaterThan(0);
          expect(failed.map((c: { message: string }) => c.message).join('\n'), what).toMatch(bad.message);
          expect(
            failed.every((c: { fix?: string }) => !!c.fix),
            `${what}: every failed check has a fix`,
          ).toBe(true);
          expect(r.stdout + r.stderr, `${what}: the password never shows`).not.toContain(PASSWORD);
          continue;
        }
        expectCleanError(r, bad.exit, bad.message, what);
        // --json: errors as {"error":{code,message,hint}} on stderr.
        const last = r.stderr.trim().split('\n').pop()!;
        expect(() => JSON.parse(last), `${what}: JSON error on stderr: ${last}`).not.toThrow();
        const error = JSON.parse(last).error;
        expect(error.message, what).toMatch(bad.message);
        expect(error.hint, `${what}: a hint`).toBeTruthy();
        if (args[0] === 'ping' && r.stdout.trim()) {
          // ping reports per role: its result shows the failure too.
          expect(
            r.json?.roles?.every((x: { ok: boolean }) => x.ok === false),
            `${what}: every role failed`,
          ).toBe(true);
        } else {
          expect(r.stdout.trim(), `${what}: stdout`).toBe('');
        }
      }
      expect(await digest(server), `${bad.name}: the server's data`).toBe(before);
    });
  }

  it('the human form of the same errors is one line and a hint', async () => {
    const r = await runCli(['ping'], { env: { REDIS_URL: `redis://127.0.0.1:${server.port}/0`, REDIS_PASSWORD: 'wrong-pass-2' } });
    expectCleanError(r, 3, /^error: Redis at 127\.0\.0\.1:\d+ refused the password/m, 'ping');
    expect(r.stderr).toMatch(/^error: Redis at 127\.0\.0\.1:\d+ refused the password/m);
    expect(r.stderr).toMatch(/^hint: /m);
  });
});
