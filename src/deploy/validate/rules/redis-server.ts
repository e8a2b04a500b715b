import {
  EVICTION_FIX,
  evictionProblem,
  MEMORY_HEADROOM,
  needsAppendOnly,
  PERSISTENCE_FIX,
  rolesAtRiskOfEviction,
  WIPE_COMMANDS,
} from '../../../redis/facts.js';
import type { RedisServer } from '../model.js';
import { formatRedisMemory, redisBytes } from '../units.js';
import { all, fullyKnown, last, whereOf } from './redis-effective-config.js';
import { hit, type Rule, type RuleHit } from './types.js';

const LOOPBACK = (ip: string) => ip === 'localhost' || ip.startsWith('127.') || ip === '::1' || ip === '[::1]';

export const redisPortPublic: Rule = {
  id: 'redis-port-public',
  severity: 'error',
  description: 'a Redis port published on all interfaces (`"6379:6379"`, `0.0.0.0:`)',
  rationale: 'Docker publishes past the host firewall (it writes its own iptables rules): the whole internet can reach the port.',
  check(stack) {
    const out: RuleHit[] = [];
    for (const server of stack.redis) {
      const svc = server.service;
      if (!svc) continue;
      for (const p of svc.ports) {
        const ip = (p.hostIp ?? '').replace(/^\[|\]$/g, '');
        if (ip && ip !== '0.0.0.0' && ip !== '::') continue;
        out.push(
          hit(
            { file: svc.file, line: p.line, path: p.path },
            `service "${svc.name}" publishes Redis port ${p.published ?? '(random)'}→${p.target} on all interfaces ("${p.text}")`,
            `publish on loopback only: "127.0.0.1:${p.published && !p.published.includes('$') ? p.published : '6379'}:${p.target}" (or drop \`ports:\` — services reach it by name)`,
          ),
        );
      }
      if (svc.networkMode === 'host') {
        const bind = last(server, 'bind');
        if (!bind || bind.args.some((a) => !LOOPBACK(a.value.replace(/^-/, ''))))
          out.push(
            hit(
              { file: svc.file, line: svc.line, path: `${svc.path}.network_mode` },
              `service "${svc.name}" runs Redis with network_mode: host and binds ${bind ? bind.args.map((a) => a.value).join(' ') : 'every interface (the default)'}`,
              'add `--bind 127.0.0.1 -::1` (or a private address) to the command',
            ),
          );
      }
    }
    return out;
  },
};

/** How FLUSHDB/FLUSHALL stand on a server: renamed away, denied to every enabled ACL user, or callable. */
function wipeCommandState(server: RedisServer): { open: string[]; unknown: boolean } {
  const renamed = new Set(all(server, 'rename-command').map((d) => d.args[0]?.value.toUpperCase()));
  const users = all(server, 'user');
  const open: string[] = [];
  for (const cmd of WIPE_COMMANDS) {
    if (renamed.has(cmd)) continue;
    const hasDefault = users.some((u) => u.args[0]?.value === 'default');
    // Without an ACL line for it, the default user may run everything.
    if (!hasDefault) {
      open.push(cmd);
      continue;
    }
    const allowedBy = users.filter((u) => {
      // Users from redis.conf start reset (off, no commands); their rules apply in order.
      let on = false;
      let allowed = false;
      for (const r of u.args.slice(1).map((a) => a.value.toLowerCase())) {
        if (r === 'on') on = true;
        else if (r === 'off') on = false;
        else if (r === '+@all' || r === 'allcommands') allowed = true;
        else if (r === 'reset') {
          on = false;
          allowed = false;
        } else if (r === '-@all' || r === 'nocommands') allowed = false;
        else if (['@keyspace', '@write', '@slow', '@dangerous'].includes(r.slice(1))) allowed = r.startsWith('+');
        else if (r.slice(1) === cmd.toLowerCase()) allowed = r.startsWith('+');
      }
      return on && allowed;
    });
    if (allowedBy.length) open.push(cmd);
  }
  return { open, unknown: server.hasExternalConfig || !fullyKnown(server) };
}

export const redisDangerousCommands: Rule = {
  id: 'redis-dangerous-commands',
  severity: 'warning',
  description: 'FLUSHDB/FLUSHALL neither renamed away nor denied by ACL',
  rationale: 'One mistyped command (or a script run against the wrong host) empties the queue, the cache and the sessions at once.',
  check(stack) {
    const out: RuleHit[] = [];
    for (const server of stack.redis) {
      const state = wipeCommandState(server);
      if (!state.open.length || state.unknown) continue;
      out.push(
        hit(
          server.where,
          `Redis ${server.label} allows ${state.open.join(' and ')}: one command empties every DB`,
          `${server.service ? 'add `--rename-command FLUSHDB "" --rename-command FLUSHALL ""` to the command, or ' : ''}add \`rename-command FLUSHDB ""\` and \`rename-command FLUSHALL ""\` to redis.conf (or deny them by ACL: \`user default on >… ~* &* +@all -flushdb -flushall\`); rqctl never needs them (cache clear uses SCAN + UNLINK)`,
        ),
      );
    }
    return out;
  },
};

export const redisDebugCommand: Rule = {
  id: 'redis-debug-command',
  severity: 'warning',
  description: '`enable-debug-command` / `enable-module-command` `yes`',
  rationale: 'DEBUG can crash or stall the server (DEBUG SEGFAULT, DEBUG SLEEP); MODULE LOAD runs arbitrary code.',
  check(stack) {
    const out: RuleHit[] = [];
    for (const server of stack.redis) {
      for (const name of ['enable-debug-command', 'enable-module-command']) {
        const d = last(server, name);
        if (d && d.args[0]?.value.toLowerCase() === 'yes')
          out.push(
            hit(
              whereOf(d),
              `Redis ${server.label} has ${name} yes: any client may run ${name === 'enable-debug-command' ? 'DEBUG' : 'MODULE'} commands`,
              `set \`${name} no\` (or \`local\` for tests only)`,
            ),
          );
      }
    }
    return out;
  },
};

export function maxmemoryOf(server: RedisServer): number | undefined {
  const d = last(server, 'maxmemory');
  const n = d ? redisBytes(d.args[0]?.value) : undefined;
  return n && n > 0 ? n : undefined;
}

export const redisNoMaxmemory: Rule = {
  id: 'redis-no-maxmemory',
  severity: 'warning',
  description: 'no `maxmemory`',
  rationale: 'Without it Redis grows until the container or host runs out of memory and the kernel kills it.',
  check(stack) {
    const out: RuleHit[] = [];
    for (const server of stack.redis) {
      if (!fullyKnown(server) || maxmemoryOf(server)) continue;
      const d = last(server, 'maxmemory');
      out.push(
        hit(
          d ? whereOf(d) : server.where,
          `Redis ${server.label} has no maxmemory${d ? ' (0 = unlimited)' : ''}`,
          `set \`maxmemory\` below the container's memory limit (e.g. ${server.roles.includes('cache') && server.roles.length === 1 ? '256mb with a 384M limit' : '512mb with a 768M limit'})`,
        ),
      );
    }
    return out;
  },
};

export const redisQueueEviction: Rule = {
  id: 'redis-queue-eviction',
  severity: 'error',
  description: 'a server holding the queue or session role whose policy is not `noeviction`',
  rationale: 'maxmemory-policy is per server, not per DB: a full cache then evicts queued jobs and sessions (seen: 300 waiting jobs to 0).',
  check(stack) {
    const out: RuleHit[] = [];
    for (const server of stack.redis) {
      const d = last(server, 'maxmemory-policy');
      const policy = d?.args[0]?.value ?? 'noeviction';
      const atRisk = rolesAtRiskOfEviction(server.roles, policy);
      if (!atRisk.length) continue;
      const inFile = d ? (d.source === 'conf' ? ` in ${d.file} (line ${d.line})` : d.source === 'flag' ? ' on the command line' : '') : '';
      out.push(
        hit(
          d ? whereOf(d) : server.where,
          `${evictionProblem(`Redis ${server.label}`, atRisk, policy)} (roles: ${server.rolesReason})`,
          `set \`maxmemory-policy noeviction\`${inFile}, and ${EVICTION_FIX}`,
        ),
      );
    }
    return out;
  },
};

export const redisQueuePersistence: Rule = {
  id: 'redis-queue-persistence',
  severity: 'warning',
  description: 'a server holding the queue role without `appendonly yes`',
  rationale: 'A crash or restart loses every job queued since the last RDB snapshot (or all of them with snapshots off).',
  check(stack) {
    const out: RuleHit[] = [];
    for (const server of stack.redis) {
      if (!needsAppendOnly(server.roles)) continue;
      const d = last(server, 'appendonly');
      if (d?.args[0]?.value.toLowerCase() === 'yes') continue;
      if (!d && !fullyKnown(server)) continue;
      out.push(
        hit(
          d ? whereOf(d) : server.where,
          `Redis ${server.label} holds the queue without AOF (appendonly ${d ? (d.args[0]?.value ?? 'no') : 'no, the default'}): a crash loses queued jobs`,
          `${PERSISTENCE_FIX}${server.service ? ' and keep /data on a named volume' : ''}`,
        ),
      );
    }
    return out;
  },
};

export const redisMemoryHeadroom: Rule = {
  id: 'redis-memory-headroom',
  severity: 'warning',
  description: `no container memory limit, or a limit below maxmemory × ${MEMORY_HEADROOM} (fork, buffers)`,
  rationale:
    'maxmemory counts data only; an AOF rewrite or snapshot forks the process, and client buffers and fragmentation come on top. Too tight a limit gets Redis OOM-killed.',
  check(stack) {
    const out: RuleHit[] = [];
    for (const server of stack.redis) {
      const svc = server.service;
      if (!svc) continue;
      const max = maxmemoryOf(server);
      const need = max ? Math.ceil((max * MEMORY_HEADROOM) / 1024 ** 2) : undefined;
      if (!svc.memLimit) {
        out.push(
          hit(
            { file: svc.file, line: svc.line, path: svc.path },
            `service "${svc.name}" (Redis) has no container memory limit`,
            `set \`deploy.resources.limits.memory\` (${need ? `at least ${need}M for maxmemory ${formatRedisMemory(max!)}` : 'e.g. 384M with maxmemory 256mb'}) and a reservation`,
          ),
        );
        continue;
      }
      if (max && svc.memLimit.bytes !== undefined && svc.memLimit.bytes < max * MEMORY_HEADROOM) {
        out.push(
          hit(
            { file: svc.file, line: svc.memLimit.line, path: svc.memLimit.path },
            `service "${svc.name}" has a memory limit of ${svc.memLimit.text} for maxmemory ${formatRedisMemory(max)}: less than ${MEMORY_HEADROOM}× leaves no room for forks and buffers`,
            `raise the limit to at least ${need}M or lower maxmemory`,
          ),
        );
      }
    }
    return out;
  },
};
