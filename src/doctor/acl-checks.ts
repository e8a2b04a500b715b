import { ROLES, type Role } from '../config/endpoints.js';
import { compareVersions, parseInfo } from '../redis/info.js';
import type { RedisClient } from '../redis/connect.js';
import { dryRunVerdict, MUST_NOT, roleNeeds, type AclProbe } from '../redis/acl/probes.js';
import type { CheckGroup, CheckResult, DoctorContext } from './types.js';

/**
 * Per role: may the configured user run what the role needs, and is it kept from FLUSHALL, KEYS and
 * CONFIG SET (docs/acl.md)? Asked with ACL DRYRUN, which runs nothing. Redis before 7.0 has no DRYRUN,
 * and a user may not be allowed to ask: then the check says so and passes.
 */
export const aclChecks: CheckGroup = async (ctx) => {
  const out: CheckResult[] = [];
  for (const role of ROLES) {
    const client = ctx.clients[role];
    if (!client) continue;
    out.push(...(await roleAcl(ctx, role, client)));
  }
  return out;
};

type Asked = { probe: AclProbe; reply: string };

async function dryRun(client: RedisClient, user: string, probes: AclProbe[]): Promise<Asked[] | string> {
  // A command renamed away is an error reply ("ERR Command 'flushall' not found"): an answer, not a failure to ask.
  const answer = (e: Error) => (dryRunVerdict(e.message) === 'missing' ? e.message : e);
  const replies = await Promise.all(probes.map((p) => client.call('ACL', 'DRYRUN', user, ...p.args).then(String, answer)));
  const refused = replies.find((r): r is Error => r instanceof Error);
  // The user may not run ACL DRYRUN itself (or the server lacks it): nothing was learnt.
  if (refused) return refused.message.split('\n')[0];
  return probes.map((probe, i) => ({ probe, reply: replies[i] as string }));
}

async function roleAcl(ctx: DoctorContext, role: Role, client: RedisClient): Promise<CheckResult[]> {
  const ep = ctx.config.roles[role];
  const user = ep.username ?? 'default';
  const id = (name: string) => `${role}.${name}`;
  const version = parseInfo(String(await client.info('server'))).redis_version ?? '0';
  if (compareVersions(version, '7.0') < 0)
    return [{ id: id('acl-needs'), status: 'ok', message: `${role} role: not checked: ACL DRYRUN needs Redis 7.0 (the server runs ${version})` }];
  const scope = { queuePrefix: ctx.config.queue.prefix, cachePrefix: ctx.config.cache.prefix, sessionKeys: ctx.config.acl.sessionKeys, db: ep.db };
  const needs = await dryRun(client, user, roleNeeds(role, scope));
  if (typeof needs === 'string')
    return [{ id: id('acl-needs'), status: 'ok', message: `${role} role: not checked: user ${user} may not ask ACL DRYRUN (${needs})` }];
  const missing = needs.filter((a) => dryRunVerdict(a.reply) !== 'allowed');
  const out: CheckResult[] = [
    missing.length
      ? {
          id: id('acl-needs'),
          status: 'fail',
          message: `${role} role: user ${user} may not ${missing.map((m) => m.probe.what).join('; ')} (${missing[0].reply})`,
          fix: `log in as the user made for this role (REDIS_USERNAME; rqctl-worker for the workers, operator for people), or grant what is missing (docs/acl.md, \`rqctl config acl\`)`,
        }
      : { id: id('acl-needs'), status: 'ok', message: `${role} role: user ${user} may do everything the role needs (${needs.length} probes)` },
  ];
  const dangerous = await dryRun(client, user, MUST_NOT);
  if (typeof dangerous === 'string') return out;
  const open = dangerous.filter((a) => dryRunVerdict(a.reply) === 'allowed').map((a) => a.probe.what);
  out.push(
    open.length
      ? {
          id: id('acl-denies'),
          status: 'warn',
          message: `${role} role: user ${user} may run ${open.join(', ')}: one slip wipes or stalls the server`,
          fix: 'give each part of the stack its own ACL user (`rqctl config generate --acl`, docs/acl.md), or deny them: -flushall -flushdb -keys -config|set',
        }
      : { id: id('acl-denies'), status: 'ok', message: `${role} role: user ${user} may not run FLUSHALL, KEYS or CONFIG SET` },
  );
  return out;
}
