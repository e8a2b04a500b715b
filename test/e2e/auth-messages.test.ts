import { describe, expect, inject, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

/**
 * Issue 13, item 17: an authentication failure names where the password came from, and a password
 * over 16 KB gets the real reason (Redis drops an unauthenticated request with an argument over
 * 16 KB), not "ECONNRESET; is it TLS?".
 */

const hardened = inject('hardenedRedisUrl');
const password = inject('hardenedRedisPassword');
const port = new URL(hardened).port;

const lastError = (stderr: string) => JSON.parse(stderr.trim().split('\n').pop()!).error as { code: string; message: string; hint: string };

describe('item 17: authentication messages', () => {
  it('item 17: a wrong password inside --redis-url names --redis-url as its source, not REDIS_PASSWORD', async () => {
    const r = await runCli(['cache', 'stats', '--json', '--redis-url', `redis://:wrong-pass-9@127.0.0.1:${port}/0`]);
    expect(r.exitCode).toBe(3);
    const e = lastError(r.stderr);
    expect(e.code).toBe('REDIS_AUTH');
    expect(e.message).toMatch(/refused the password \(from --redis-url\)/);
    expect(e.message + e.hint).not.toContain('REDIS_PASSWORD)');
    expect(e.hint).toMatch(/--redis-url/);
    expect(r.stderr).not.toContain('wrong-pass-9');
  });

  it('item 17: a wrong password inside REDIS_URL names REDIS_URL', async () => {
    const r = await runCli(['cache', 'stats', '--json'], { env: { REDIS_URL: `redis://:wrong-pass-9@127.0.0.1:${port}/0` } });
    expect(r.exitCode).toBe(3);
    expect(lastError(r.stderr).message).toMatch(/refused the password \(from REDIS_URL\)/);
  });

  it('item 17: a wrong REDIS_PASSWORD names REDIS_PASSWORD', async () => {
    const r = await runCli(['cache', 'stats', '--json'], { env: { REDIS_URL: `redis://127.0.0.1:${port}/0`, REDIS_PASSWORD: 'wrong-pass-9' } });
    expect(r.exitCode).toBe(3);
    const e = lastError(r.stderr);
    expect(e.message).toMatch(/refused the password \(from REDIS_PASSWORD\)/);
    expect(e.hint).toMatch(/REDIS_PASSWORD/);
  });

  it('item 17: a password over 16 KB says Redis drops unauthenticated requests over 16 KB (not "ECONNRESET; is it TLS?")', async () => {
    const long = 'p'.repeat(20_000);
    const r = await runCli(['cache', 'stats', '--json'], { env: { REDIS_URL: `redis://127.0.0.1:${port}/0`, REDIS_PASSWORD: long } });
    expect(r.exitCode).toBe(3);
    const e = lastError(r.stderr);
    expect(e.code).toBe('REDIS_AUTH');
    expect(e.message).toMatch(
      /the password \(from REDIS_PASSWORD\) is 20000 bytes: Redis drops a request with an argument over 16 KB \(16384 bytes\) from a client that has not authenticated yet/,
    );
    expect(e.message).not.toMatch(/TLS/);
    expect(r.stderr).not.toContain(long.slice(0, 100));
  });

  it('the right password still connects', async () => {
    const r = await runCli(['cache', 'stats', '--json'], { env: { REDIS_URL: `redis://127.0.0.1:${port}/0`, REDIS_PASSWORD: password } });
    expect(r.exitCode, r.stderr).toBe(0);
  });
});
