import type { ComposeService } from '../compose.js';
import type { RedisServer, Stack } from '../model.js';
import { hit, type Rule, type RuleHit } from './types.js';

export const dockerSocketMounted: Rule = {
  id: 'docker-socket-mounted',
  severity: 'error',
  description: '`/var/run/docker.sock` mounted into a service',
  rationale: 'Whoever controls that container controls the Docker engine, and with it the host as root.',
  check(stack) {
    const out: RuleHit[] = [];
    for (const c of stack.compose) {
      for (const svc of c.model.services) {
        for (const v of svc.volumes) {
          if (v.source && /(^|\/)docker\.sock$/.test(v.source))
            out.push(
              hit(
                { file: c.input.file, line: v.line, path: v.path },
                `service "${svc.name}" mounts the Docker socket (${v.source}): the container can take over the host`,
                'remove the mount; deploy from CI with `rqctl deploy` and DOCKER_HOST instead, or use a socket proxy that allows read-only calls',
              ),
            );
        }
      }
    }
    return out;
  },
};

export function isRootUser(user: string | undefined): boolean {
  return user === undefined || /^(root|0)(:|$)/.test(user);
}

const serversByService = new WeakMap<Stack, Map<ComposeService, RedisServer>>();

/** The user a service's main process runs as (compose `user:`, the official Redis image's own drop, the Dockerfile's last USER), or undefined when unknown/root. */
export function serviceUser(svc: ComposeService, stack: Stack): string | undefined {
  if (svc.user) return svc.user;
  let servers = serversByService.get(stack);
  if (!servers) {
    servers = new Map(stack.redis.filter((r) => r.service).map((r) => [r.service!, r]));
    serversByService.set(stack, servers);
  }
  if (servers.get(svc)?.dropsPrivileges) return 'redis';
  return svc.dockerfile?.user;
}

export const containerHardening: Rule = {
  id: 'container-hardening',
  severity: 'info',
  description: 'missing `no-new-privileges`, `cap_drop`, read-only root filesystem, non-root user',
  rationale: 'Each one limits what an attacker who gets code execution in the container can do next.',
  check(stack) {
    const out: RuleHit[] = [];
    for (const c of stack.compose) {
      for (const svc of c.model.services) {
        const missing: string[] = [];
        if (!svc.securityOpt.some((o) => /^no-new-privileges(:true|=true)?$/.test(o))) missing.push('security_opt no-new-privileges:true');
        if (!svc.capDrop.includes('ALL')) missing.push('cap_drop: [ALL]');
        if (!svc.readOnly) missing.push('read_only: true');
        if (isRootUser(serviceUser(svc, stack))) missing.push('a non-root user');
        if (missing.length)
          out.push(
            hit(
              { file: c.input.file, line: svc.line, path: svc.path },
              `service "${svc.name}" lacks ${missing.join(', ')}`,
              `add ${missing.join(', ')} (and cap_add only what the image needs, tmpfs for scratch paths)`,
            ),
          );
      }
    }
    return out;
  },
};
