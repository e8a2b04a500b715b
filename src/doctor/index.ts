import type { Config } from '../config/resolve.js';
import { ROLES, type Role } from '../config/endpoints.js';
import { ExitCode, RqctlError, redisRefusal } from '../errors.js';
import { closeClient, connectRole, type RedisClient } from '../redis/connect.js';
import { isConnectionError, lostConnection } from '../redis/pipeline.js';
import { envChecks, redisChecks } from './redis-checks.js';
import { cacheChecks } from './cache-checks.js';
import { providerChecks } from './provider-checks.js';
import { schedulerChecks } from './scheduler-checks.js';
import { workerChecks } from './worker-checks.js';
import { aclChecks } from './acl-checks.js';
import { workerProgressChecks } from './progress-checks.js';
import type { CheckGroup, CheckResult, DoctorContext } from './types.js';

export type { CheckResult } from './types.js';

/**
 * Every check family, in the order they are reported. A feature that needs a health check adds its
 * group here (workers alive, scheduler heartbeat, cache TTLs…).
 */
export const checkGroups: CheckGroup[] = [redisChecks, aclChecks, cacheChecks, workerChecks, workerProgressChecks, envChecks, schedulerChecks, providerChecks];

export interface DoctorReport {
  checks: CheckResult[];
  exitCode: number;
}

/**
 * One group's checks. An ACL user that may not read what a group looks at (docs/acl.md: app, say)
 * costs that group, not the whole report: the refusal becomes a warning naming the permission.
 */
async function runGroup(group: CheckGroup, ctx: DoctorContext): Promise<CheckResult[]> {
  try {
    return await group(ctx);
  } catch (e) {
    const refusal = redisRefusal(e);
    if (refusal?.code !== 'REDIS_NOPERM') throw e;
    return [
      {
        id: 'acl.refused',
        status: 'warn',
        message: `some checks did not run: ${refusal.message}`,
        fix: 'run `rqctl doctor` as a user that may read the whole stack (operator, or rqctl-worker of `rqctl config acl`)',
      },
    ];
  }
}

export async function runDoctor(config: Config, groups: CheckGroup[] = checkGroups): Promise<DoctorReport> {
  const clients: Partial<Record<Role, RedisClient>> = {};
  const checks: CheckResult[] = [];
  let unreachable = 0;
  try {
    await Promise.all(
      ROLES.map(async (role) => {
        try {
          clients[role] = await connectRole(config, role);
          checks.push({ id: `${role}.reachable`, status: 'ok', message: `${role} role: ${config.roles[role].display} reachable` });
        } catch (e) {
          if (!(e instanceof RqctlError)) throw e;
          unreachable++;
          checks.push({ id: `${role}.reachable`, status: 'fail', message: `${role} role: ${e.message}`, fix: e.hint });
        }
      }),
    );
    checks.sort((a, b) => ROLES.indexOf(a.id.split('.')[0] as Role) - ROLES.indexOf(b.id.split('.')[0] as Role));
    const ctx: DoctorContext = { config, clients, now: Date.now() };
    if (unreachable < ROLES.length) {
      for (const group of groups) checks.push(...(await runGroup(group, ctx)));
    } else {
      checks.push(...(await envChecks(ctx)));
    }
  } catch (e) {
    // Reachable at first, gone during the checks: that is exit 3, not a bug in a check.
    if (isConnectionError(e)) throw lostConnection(e);
    throw e;
  } finally {
    await Promise.all(Object.values(clients).map((c) => closeClient(c)));
  }
  const failed = checks.some((c) => c.status === 'fail');
  return { checks, exitCode: unreachable === ROLES.length ? ExitCode.unreachable : failed ? ExitCode.checkFailed : ExitCode.ok };
}
