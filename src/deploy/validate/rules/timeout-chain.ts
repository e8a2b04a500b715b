import { classifyArgv, isWorkerKind } from '../commands.js';
import type { ComposeService } from '../compose.js';
import { hit, type Rule, type RuleHit } from './types.js';

/** supervisord's default stopwaitsecs and Docker's default stop grace period, in seconds. */
export const SUPERVISOR_DEFAULT_STOPWAIT = 10;
export const DOCKER_DEFAULT_GRACE = 10;

function grace(svc: ComposeService): { seconds: number; text: string; line: number; path: string } {
  if (svc.stopGracePeriod?.seconds !== undefined)
    return { seconds: svc.stopGracePeriod.seconds, text: svc.stopGracePeriod.text, line: svc.stopGracePeriod.line, path: svc.stopGracePeriod.path };
  return { seconds: DOCKER_DEFAULT_GRACE, text: "10s (Docker's default)", line: svc.line, path: svc.path };
}

const RUN_TWICE = 'deploys then SIGKILL running jobs, which stall and run twice';

/**
 * The chain that lets a deploy finish running jobs: job timeout < supervisord stopwaitsecs ≤ compose
 * stop_grace_period. A break anywhere means SIGKILL mid-job on every deploy or restart.
 */
export const timeoutChain: Rule = {
  id: 'timeout-chain',
  severity: 'error',
  description:
    "a worker's job timeout ≥ `stopwaitsecs` (supervisord's default is 10), or `stopwaitsecs` > compose `stop_grace_period` (Docker's default is 10s), or — for a worker compose runs directly — its job timeout ≥ `stop_grace_period`",
  rationale:
    'On stop, supervisord sends SIGTERM and waits stopwaitsecs before SIGKILL; Docker does the same to supervisord with stop_grace_period. A worker needs its longest job to fit in both.',
  check(stack) {
    const out: RuleHit[] = [];
    for (const s of stack.supervisor) {
      for (const p of s.programs) {
        if (!isWorkerKind(p.info.kind) || p.info.timeout === undefined) continue;
        const sw = p.get('stopwaitsecs');
        if (sw && !/^\d+$/.test(sw.value.trim())) continue; // supervisor-parse reports it; supervisord would not start
        const stopwait = sw && /^\d+$/.test(sw.value.trim()) ? Number(sw.value) : SUPERVISOR_DEFAULT_STOPWAIT;
        const timeoutText = p.info.timeoutExplicit ? `--timeout ${p.info.timeoutText}` : `the default timeout of ${p.info.timeout} s`;
        const where = { file: s.input.file, line: sw?.line ?? p.section.line, path: `${p.section.name}${sw ? '.stopwaitsecs' : ''}` };
        if (p.info.timeout >= stopwait) {
          out.push(
            hit(
              where,
              `[${p.section.name}] jobs may run ${p.info.timeout} s (${timeoutText}) but supervisord waits stopwaitsecs=${stopwait}${sw ? '' : ' (the default)'} before SIGKILL: ${RUN_TWICE}`,
              `set \`stopwaitsecs=${Math.ceil(p.info.timeout) + 30}\` (job timeout + 30) and a compose stop_grace_period above it`,
            ),
          );
        }
        for (const { service } of s.services) {
          const g = grace(service);
          if (stopwait > g.seconds) {
            out.push(
              hit(
                { file: service.file, line: g.line, path: g.path },
                `service "${service.name}" runs ${s.input.file} whose [${p.section.name}] waits stopwaitsecs=${stopwait}, but Docker kills the container after stop_grace_period ${g.text}: ${RUN_TWICE}`,
                `set \`stop_grace_period: ${stopwait + 30}s\` on service "${service.name}"`,
              ),
            );
          }
        }
      }
    }
    for (const c of stack.compose) {
      for (const svc of c.model.services) {
        const info = classifyArgv([...(svc.entrypoint?.words ?? []), ...(svc.command?.words ?? [])].map((w) => w.value));
        if (!isWorkerKind(info.kind) || info.timeout === undefined) continue;
        const g = grace(svc);
        if (info.timeout >= g.seconds) {
          out.push(
            hit(
              { file: c.input.file, line: g.line, path: g.path },
              `service "${svc.name}" runs a worker whose jobs may run ${info.timeout} s, but Docker kills it after stop_grace_period ${g.text}: ${RUN_TWICE}`,
              `set \`stop_grace_period: ${Math.ceil(info.timeout) + 30}s\``,
            ),
          );
        }
      }
    }
    return out;
  },
};
