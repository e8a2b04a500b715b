import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/resolve.js';
import { runDoctor } from '../../src/doctor/index.js';
import { aclChecks } from '../../src/doctor/acl-checks.js';
import { RedisServer } from '../helpers/redis-server.js';

/**
 * `rqctl doctor`'s ACL checks against servers whose users are wrong in the ways operators get them
 * wrong: a user too narrow for its role, one password that may do everything, a user that may not
 * even ask ACL DRYRUN.
 */

let dir: string;
let acl: RedisServer;
let open: RedisServer;
let renamed: RedisServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rqctl-doctor-acl-'));
  writeFileSync(
    join(dir, 'users.acl'),
    [
      'user default off',
      'user operator on >op ~* &* +@all',
      // May ask DRYRUN and connect, but not run BullMQ or touch the raffles.
      'user narrow on >nw resetkeys ~bull:* -@all +info +ping +select +client|setname +client|info +acl|dryrun +acl|whoami +set +get +hgetall +scan',
      'user mute on >mu ~* -@all +info +ping +select +client|setname +client|info',
    ].join('\n') + '\n',
    { mode: 0o600 },
  );
  [acl, open, renamed] = await Promise.all([
    RedisServer.start({ username: 'operator', password: 'op', args: ['--aclfile', join(dir, 'users.acl')] }),
    RedisServer.start({ password: 'one-for-all' }),
    RedisServer.start({ password: 'one-for-all', args: ['--rename-command', 'FLUSHALL', '', '--rename-command', 'FLUSHDB', ''] }),
  ]);
});
afterAll(async () => {
  await Promise.all([acl?.stop(), open?.stop(), renamed?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

const doctorAs = async (server: RedisServer, env: Record<string, string>) => {
  const config = resolveConfig({ env: { REDIS_URL: `redis://127.0.0.1:${server.port}/0`, ...env }, cwd: dir });
  const report = await runDoctor(config, [aclChecks]);
  return { report, byId: Object.fromEntries(report.checks.map((c) => [c.id, c])) };
};

describe('rqctl doctor: ACL checks', () => {
  it('a user too narrow for the queue role fails, naming what it may not do', async () => {
    const { report, byId } = await doctorAs(acl, { REDIS_USERNAME: 'narrow', REDIS_PASSWORD: 'nw' });
    expect(byId['queue.acl-needs'].status).toBe('fail');
    expect(byId['queue.acl-needs'].message).toMatch(
      /user narrow may not .*run BullMQ's scripts.*wait for jobs \(BZPOPMIN bull:default:marker\).*update raffles/,
    );
    expect(byId['queue.acl-needs'].fix).toMatch(/REDIS_USERNAME/);
    // The session role needs only to connect, which it may.
    expect(byId['session.acl-needs'].status).toBe('ok');
    expect(byId['queue.acl-denies'].status).toBe('ok');
    expect(report.exitCode).toBe(4);
  });

  it('one password that may do everything passes the needs and warns that it may FLUSHALL, KEYS and CONFIG SET', async () => {
    const { report, byId } = await doctorAs(open, { REDIS_PASSWORD: 'one-for-all' });
    for (const role of ['queue', 'cache', 'session']) {
      expect(byId[`${role}.acl-needs`]).toMatchObject({ status: 'ok', message: expect.stringContaining('user default may do everything') });
      expect(byId[`${role}.acl-denies`]).toMatchObject({ status: 'warn', message: expect.stringContaining('may run FLUSHALL, KEYS, CONFIG SET') });
      expect(byId[`${role}.acl-denies`].fix).toMatch(/config generate --acl/);
    }
    expect(report.exitCode).toBe(0);
  });

  it('a command renamed away counts as denied: FLUSHALL is not named', async () => {
    const { byId } = await doctorAs(renamed, { REDIS_PASSWORD: 'one-for-all' });
    expect(byId['queue.acl-denies']).toMatchObject({ status: 'warn', message: expect.stringMatching(/may run KEYS, CONFIG SET:/) });
  });

  it('a user that may not ask ACL DRYRUN is not checked, and says so', async () => {
    const { report, byId } = await doctorAs(acl, { REDIS_USERNAME: 'mute', REDIS_PASSWORD: 'mu' });
    expect(byId['queue.acl-needs']).toMatchObject({ status: 'ok', message: expect.stringMatching(/not checked: user mute may not ask ACL DRYRUN/) });
    expect(byId['queue.acl-denies']).toBeUndefined();
    expect(report.exitCode).toBe(0);
  });
});
