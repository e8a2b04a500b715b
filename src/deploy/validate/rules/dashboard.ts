import type { ComposeService } from '../compose.js';
import type { Stack } from '../model.js';
import { hit, type Rule, type RuleHit } from './types.js';

/** `rqctl dashboard` (or `node …/rqctl.js dashboard`) somewhere in a command line. */
const RUNS_DASHBOARD = /(^|[\s/])rqctl(\.js)?(\s+-\S+(\s+[^-\s]\S*)?)*\s+dashboard(\s|$)/;

function runsDashboard(stack: Stack, svc: ComposeService): boolean {
  const own = [svc.entrypoint, svc.command].some((a) => a && RUNS_DASHBOARD.test(a.words.map((w) => w.value).join(' ')));
  if (own) return true;
  // Under supervisord in that container (the generated stack's rqctl-dashboard program).
  return stack.supervisor.some((s) => s.services.some((x) => x.service === svc) && s.programs.some((p) => !!p.command && RUNS_DASHBOARD.test(p.command.value)));
}

/** The port the dashboard listens on inside the container: --port, else DASHBOARD_PORT, else 7780. */
function dashboardPort(svc: ComposeService): string {
  const words = [svc.entrypoint, svc.command].flatMap((a) => a?.words.map((w) => w.value) ?? []);
  const i = words.indexOf('--port');
  if (i >= 0 && words[i + 1]) return words[i + 1];
  const eq = words.find((w) => w.startsWith('--port='));
  if (eq) return eq.slice('--port='.length);
  return svc.environment.get('DASHBOARD_PORT')?.value?.trim() || '7780';
}

const isPublic = (hostIp: string | undefined) => {
  const ip = (hostIp ?? '').replace(/^\[|\]$/g, '');
  return ip === '' || ip === '0.0.0.0' || ip === '::';
};

export const dashboardExposed: Rule = {
  id: 'dashboard-exposed',
  severity: 'error',
  description: 'an rqctl dashboard published on a public interface without DASHBOARD_USER and DASHBOARD_PASSWORD',
  rationale:
    'The dashboard retries, removes and cleans jobs and shows their payloads: published on every interface without basic auth, anyone who reaches the port can.',
  check(stack) {
    const out: RuleHit[] = [];
    for (const c of stack.compose) {
      for (const svc of c.model.services) {
        if (!runsDashboard(stack, svc)) continue;
        const user = svc.environment.get('DASHBOARD_USER')?.value?.trim();
        const password = svc.environment.get('DASHBOARD_PASSWORD')?.value?.trim();
        if (user && password) continue;
        const port = dashboardPort(svc);
        for (const p of svc.ports) {
          if (p.target.replace(/\/tcp$/, '') !== port || !isPublic(p.hostIp)) continue;
          out.push(
            hit(
              { file: svc.file, line: p.line, path: p.path },
              `service "${svc.name}" publishes the rqctl dashboard (port ${port}) on all interfaces ("${p.text}") without DASHBOARD_USER and DASHBOARD_PASSWORD${user || password ? ' (one of them is empty here)' : ''}`,
              `publish on loopback only ("127.0.0.1:${p.published && !p.published.includes('$') ? p.published : '7780'}:${port}") and reach it through an SSH tunnel, or set DASHBOARD_USER and DASHBOARD_PASSWORD (\`\${DASHBOARD_PASSWORD:?set DASHBOARD_PASSWORD}\`)`,
            ),
          );
        }
      }
    }
    return out;
  },
};
