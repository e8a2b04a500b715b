import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { ComposeService } from '../compose.js';
import type { ComposeInput, Stack } from '../model.js';
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

/** The user the service's image runs as, from the last USER of the Dockerfile it is built from. */
export function dockerfileUser(svc: ComposeService, compose: ComposeInput): string | undefined {
  if (!svc.build) return undefined;
  const path = resolve(dirname(compose.input.absPath), svc.build.context, svc.build.dockerfile);
  if (!existsSync(path)) return undefined;
  let user: string | undefined;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const t = line.trim();
    if (/^FROM\s/i.test(t)) user = undefined;
    const m = /^USER\s+(\S+)/i.exec(t);
    if (m) user = m[1];
  }
  return user;
}

export function isRootUser(user: string | undefined): boolean {
  return user === undefined || /^(root|0)(:|$)/.test(user);
}

/** The user a service's main process runs as, or undefined when unknown/root. */
export function serviceUser(svc: ComposeService, compose: ComposeInput, stack: Stack): string | undefined {
  if (svc.user) return svc.user;
  const server = stack.redis.find((r) => r.service === svc);
  if (server?.dropsPrivileges) return 'redis';
  return dockerfileUser(svc, compose);
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
        if (isRootUser(serviceUser(svc, c, stack))) missing.push('a non-root user');
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
