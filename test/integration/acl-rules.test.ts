import { readdirSync, readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderAclFiles, type AclSettings } from '../../src/deploy/acl/aclfiles.js';
import { BULLMQ_SCRIPT_COMMANDS, PRODUCER_COMMANDS, PROVIDER_LIMIT_COMMANDS } from '../../src/redis/acl/commands.js';
import { CACHE_FAMILY_STARTS } from '../../src/redis/acl/users.js';
import { CACHE_FAMILIES } from '../../src/cache/families.js';
import { RedisServer } from '../helpers/redis-server.js';

/**
 * The rules against the code they are derived from: every command BullMQ's Lua scripts can call
 * (read from the installed bullmq package, includes resolved) is in the worker's list, the add scripts'
 * commands in the app's; and against a real redis-server started with the rendered aclfile, ACL
 * DRYRUN shows each user may run exactly that on the keys it owns, and not on others'.
 */

const require = createRequire(import.meta.url);
const COMMANDS_DIR = join(dirname(require.resolve('bullmq/package.json')), 'dist', 'esm', 'commands');

function luaCommands(file: string, seen = new Set<string>()): Set<string> {
  const out = new Set<string>();
  if (seen.has(file)) return out;
  seen.add(file);
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/^--- @include "([^"]+)"/gm)) for (const c of luaCommands(join(dirname(file), `${m[1]}.lua`), seen)) out.add(c);
  // rcall("HSET", …), and the names scripts keep in variables: local pushCmd = lifo and 'RPUSH' or 'LPUSH'.
  for (const m of text.matchAll(/(?:rcall|redis\.p?call)\(\s*["']([A-Za-z]+)["']/g)) out.add(m[1].toLowerCase());
  for (const m of text.matchAll(/["']([A-Z]{3,})["']/g)) if (/^(R|L)PUSH$|^[HSZ]SCAN$|^SCARD$|^HLEN$|^ZCARD$/.test(m[1])) out.add(m[1].toLowerCase());
  return out;
}

const scripts = readdirSync(COMMANDS_DIR).filter((f) => f.endsWith('.lua'));

describe('the ACL rules cover what the code calls', () => {
  it('every command of every BullMQ Lua script is in the worker’s list', () => {
    expect(scripts.length).toBeGreaterThan(40);
    const all = new Set(scripts.flatMap((f) => [...luaCommands(join(COMMANDS_DIR, f))]));
    expect(all.size).toBeGreaterThan(40);
    expect([...all].filter((c) => !(BULLMQ_SCRIPT_COMMANDS as readonly string[]).includes(c)).sort()).toEqual([]);
  });

  it('every command of the scripts that add a job and report its state is in the app’s list', () => {
    const producer = scripts.filter((f) => /^(addStandardJob|addDelayedJob|addPrioritizedJob|addParentJob|getState|getStateV2|isFinished)-\d+\.lua$/.test(f));
    expect(producer).toHaveLength(7);
    const needed = new Set(producer.flatMap((f) => [...luaCommands(join(COMMANDS_DIR, f))]));
    expect([...needed].filter((c) => !(PRODUCER_COMMANDS as readonly string[]).includes(c)).sort()).toEqual([]);
  });

  it('every command of the provider-limit script is in the list the worker and the app get for it', () => {
    const needed = luaCommands(fileURLToPath(new URL('../../src/limits/provider-limit.lua', import.meta.url)));
    expect(needed.size).toBeGreaterThan(10);
    expect([...needed].filter((c) => !(PROVIDER_LIMIT_COMMANDS as readonly string[]).includes(c)).sort()).toEqual([]);
  });

  it('every cache key family starts with one of the patterns a shared server tells the cache apart by', () => {
    for (const f of CACHE_FAMILIES) expect(CACHE_FAMILY_STARTS.some((s) => `${f}_`.startsWith(s))).toBe(true);
  });
});

const passwords = { 'rqctl-worker': 'pw-w', app: 'pw-a', operator: 'pw-o', healthcheck: 'pw-h' };
const settings: AclSettings = { scope: { queuePrefix: 'bull', cachePrefix: '', sessionKeys: ['sess:*'] }, passwords };

describe('ACL DRYRUN on a redis-server started with the single topology’s aclfile', () => {
  let dir: string;
  let server: RedisServer;
  let op: Redis;
  /** Arguments that pass the command's arity with `key` wherever a key may go. */
  const argsFor = new Map<string, (key: string) => string[]>();
  const dryRun = async (user: string, cmd: string, key: string) => {
    const args = argsFor.get(cmd)!(key);
    return String(await op.call('ACL', 'DRYRUN', user, ...cmd.split('|'), ...args).catch((e: Error) => e.message));
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rqctl-acl-rules-'));
    const [file] = renderAclFiles(['single'], settings);
    writeFileSync(join(dir, file.name), file.content, { mode: 0o600 });
    server = await RedisServer.start({ username: 'operator', password: passwords.operator, args: ['--aclfile', join(dir, file.name)] });
    op = server.client();
    const list = (await op.call('COMMAND', 'LIST')) as string[];
    type Info = [string, number, unknown, number, number, number, unknown, unknown, unknown, Info[]?];
    const add = (info: Info, words: number) => {
      const arity = info[1];
      const n = Math.max(arity > 0 ? arity - words : -arity - words, info[3] > 0 ? info[3] - words + 1 : 0);
      argsFor.set(String(info[0]).toLowerCase(), (key) => Array.from({ length: n }, () => key));
    };
    for (const name of list) {
      const [info] = (await op.call('COMMAND', 'INFO', name)) as Info[];
      add(info, 1);
      // Subcommands (CONFIG SET, CLIENT LIST…) are permissions of their own: `config|set`.
      for (const sub of info[9] ?? []) add(sub, 2);
    }
    // Where the keys are not simply the first arguments.
    argsFor.set('xread', (key) => ['STREAMS', key, '0']);
    argsFor.set('evalsha', (key) => ['0'.repeat(40), '1', key]);
    argsFor.set('eval', (key) => ['return 1', '1', key]);
  });
  afterAll(async () => {
    op?.disconnect();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('rqctl-worker may run every BullMQ script command on the queue prefix, none on the sessions', async () => {
    for (const cmd of BULLMQ_SCRIPT_COMMANDS) {
      if (cmd === 'time') continue; // no key
      expect(await dryRun('rqctl-worker', cmd, 'bull:default:x'), cmd).toBe('OK');
      expect(await dryRun('rqctl-worker', cmd, 'sess:x'), cmd).not.toBe('OK');
    }
    expect(await dryRun('rqctl-worker', 'bzpopmin', 'bull:default:marker')).toBe('OK');
    expect(await dryRun('rqctl-worker', 'hset', 'raffle:1')).toBe('OK');
    expect(await dryRun('rqctl-worker', 'set', 'crypto_list_0')).toBe('OK');
    expect(await dryRun('rqctl-worker', 'del', 'crypto_list_0')).not.toBe('OK');
  });

  it('app may add jobs and wait for them, keep its sessions and read the cache; never consume jobs or write the cache', async () => {
    for (const cmd of PRODUCER_COMMANDS) expect(await dryRun('app', cmd, 'bull:default:x'), cmd).toBe('OK');
    expect(await dryRun('app', 'bzpopmin', 'bull:default:marker')).not.toBe('OK');
    expect(await dryRun('app', 'set', 'sess:abc')).toBe('OK');
    expect(await dryRun('app', 'expire', 'sess:abc')).toBe('OK');
    expect(await dryRun('app', 'evalsha', 'sess:abc')).not.toBe('OK');
    expect(await dryRun('app', 'get', 'stock_quote_0')).toBe('OK');
    expect(await dryRun('app', 'set', 'stock_quote_0')).not.toBe('OK');
    expect(await dryRun('app', 'hset', 'raffle:1')).not.toBe('OK');
  });

  it('rqctl-worker and app may run every provider-limit script command on the limits’ keys; app on no other queue key', async () => {
    for (const cmd of PROVIDER_LIMIT_COMMANDS) {
      if (cmd === 'time') continue; // no key
      for (const user of ['rqctl-worker', 'app']) expect(await dryRun(user, cmd, 'bull:rqctl:limits:coingecko:log'), `${user} ${cmd}`).toBe('OK');
    }
    for (const user of ['rqctl-worker', 'app']) expect(await dryRun(user, 'time', 'x'), user).toBe('OK');
    for (const cmd of ['zremrangebyscore', 'hkeys', 'hincrby', 'zcount']) expect(await dryRun('app', cmd, 'bull:default:x'), cmd).not.toBe('OK');
  });

  it('healthcheck may run PING and INFO and no other command of the server', async () => {
    const allowed: string[] = [];
    for (const cmd of argsFor.keys()) {
      // AUTH, HELLO, RESET and QUIT are open to every user whatever the rules say.
      if (['auth', 'hello', 'reset', 'quit'].includes(cmd)) continue;
      if ((await dryRun('healthcheck', cmd, 'k')) === 'OK') allowed.push(cmd);
    }
    expect(allowed.sort()).toEqual(['info', 'ping']);
  });

  it('operator may run everything but what wipes, stalls or reconfigures the server', async () => {
    for (const cmd of ['flushall', 'flushdb', 'keys', 'debug', 'shutdown', 'module', 'config|set', 'acl|setuser', 'acl|deluser'])
      expect(await dryRun('operator', cmd, 'k'), cmd).not.toBe('OK');
    for (const cmd of ['scan', 'monitor', 'memory|usage', 'client|list', 'config|get', 'slowlog|get', 'unlink', 'evalsha', 'acl|log', 'info'])
      expect(await dryRun('operator', cmd, 'anything'), cmd).toBe('OK');
  });
});
