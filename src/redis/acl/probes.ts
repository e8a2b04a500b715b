import type { Role } from '../../config/endpoints.js';
import { CACHE_FAMILY_STARTS, type AclScope } from './users.js';

/**
 * What `rqctl doctor` asks `ACL DRYRUN <user> <command> <args>` about, per role: one probe per reason
 * the role needs the server (docs/acl.md), with keys shaped like the real ones, and the commands no
 * role needs and nobody should be able to run by accident.
 */
export interface AclProbe {
  /** What the operator reads when it is refused. */
  what: string;
  args: string[];
}

/** A SHA no script has: DRYRUN only checks the rights, it does not run anything. */
const ANY_SHA = '0'.repeat(40);

export function roleNeeds(role: Role, scope: AclScope & { db: number }): AclProbe[] {
  const connect: AclProbe[] = [
    { what: 'INFO (the connection check)', args: ['info'] },
    { what: 'PING', args: ['ping'] },
    ...(scope.db !== 0 ? [{ what: `SELECT ${scope.db}`, args: ['select', String(scope.db)] }] : []),
  ];
  if (role === 'session') return connect;
  if (role === 'cache') {
    const key = `${scope.cachePrefix}${CACHE_FAMILY_STARTS[0]}list_probe`;
    return [
      ...connect,
      { what: `write the cache (SET ${key} … EX)`, args: ['set', key, 'v', 'EX', '1200'] },
      { what: `read the cache (GET ${key})`, args: ['get', key] },
    ];
  }
  const q = `${scope.queuePrefix}:default`;
  return [
    ...connect,
    { what: 'name its connections (CLIENT SETNAME)', args: ['client', 'setname', 'rqctl'] },
    { what: `run BullMQ's scripts on ${scope.queuePrefix}:* (EVALSHA)`, args: ['evalsha', ANY_SHA, '1', `${q}:wait`] },
    { what: 'load scripts (EVAL)', args: ['eval', 'return 1', '1', `${q}:wait`] },
    { what: `wait for jobs (BZPOPMIN ${q}:marker)`, args: ['bzpopmin', `${q}:marker`, '1'] },
    { what: `read job events (XREAD ${q}:events)`, args: ['xread', 'BLOCK', '1', 'STREAMS', `${q}:events`, '$'] },
    { what: `read jobs (HGETALL ${q}:1)`, args: ['hgetall', `${q}:1`] },
    { what: `write rqctl's control keys (SET ${scope.queuePrefix}:rqctl:restart)`, args: ['set', `${scope.queuePrefix}:rqctl:restart`, '1'] },
    { what: 'find queues (SCAN)', args: ['scan', '0', 'MATCH', `${scope.queuePrefix}:*:meta`] },
    {
      what: `keep provider rate limits (HKEYS ${scope.queuePrefix}:rqctl:limits:<provider>:stats)`,
      args: ['hkeys', `${scope.queuePrefix}:rqctl:limits:probe:stats`],
    },
    { what: 'update raffles (HSET raffle:<id>)', args: ['hset', 'raffle:probe', 'status', 'active'] },
    { what: 'list raffles (SSCAN raffles)', args: ['sscan', 'raffles', '0'] },
    { what: 'write winners (RPUSH raffle:<id>:winners)', args: ['rpush', 'raffle:probe:winners', 'x'] },
  ];
}

/** No part of the stack needs these; a user that may run them can wipe or stall the server by accident. */
export const MUST_NOT: AclProbe[] = [
  { what: 'FLUSHALL', args: ['flushall'] },
  { what: 'KEYS', args: ['keys', '*'] },
  { what: 'CONFIG SET', args: ['config', 'set', 'maxmemory', '0'] },
];

export type DryRunVerdict = 'allowed' | 'denied' | 'missing';

/**
 * Asks before running a command the user may lack and the caller can do without (CONFIG GET, CLIENT
 * LIST): a refused command costs nothing but lands in the server's ACL LOG, where a dashboard
 * refreshing every few seconds would bury real refusals. Unknown (no ACL DRYRUN: old server, or not
 * allowed to ask) means try.
 */
export async function mayRun(client: { call(...args: string[]): Promise<unknown> }, user: string, args: string[]): Promise<boolean> {
  const reply = await client.call('ACL', 'DRYRUN', user, ...args).then(String, () => undefined);
  return reply === undefined || dryRunVerdict(reply) === 'allowed';
}

/** ACL DRYRUN's reply: `OK`, a sentence saying why not, or "ERR Command 'x' not found" for a command renamed away. */
export function dryRunVerdict(reply: string): DryRunVerdict {
  if (reply === 'OK') return 'allowed';
  if (/Command '.*' not found|unknown command/i.test(reply)) return 'missing';
  return 'denied';
}
