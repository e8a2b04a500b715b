import { isAnyWorker, isQueueProgram } from '../commands.js';
import type { SupervisorInput, SupervisorProgram } from '../model.js';
import type { Where } from '../finding.js';
import { isRootUser, serviceUser } from './docker.js';
import { hit, type Rule, type RuleHit } from './types.js';

function at(s: SupervisorInput, p: SupervisorProgram, key?: string): Where {
  const v = key ? p.get(key) : undefined;
  return { file: s.input.file, line: v?.line ?? p.section.line, path: key ? `${p.section.name}.${key}` : p.section.name };
}

export const supervisorProcessName: Rule = {
  id: 'supervisor-process-name',
  severity: 'error',
  description: '`numprocs` > 1 without `%(process_num)` in `process_name`',
  rationale: 'supervisord refuses to start ("%(process_num) must be present within process_name when numprocs > 1"), so no worker runs.',
  check(stack) {
    const out: RuleHit[] = [];
    for (const s of stack.supervisor) {
      for (const p of s.programs) {
        if (p.numprocs <= 1) continue;
        const pn = p.get('process_name');
        if (pn && pn.value.includes('%(process_num)')) continue;
        out.push(
          hit(
            at(s, p, pn ? 'process_name' : 'numprocs'),
            `[${p.section.name}] runs numprocs=${p.numprocs} ${pn ? `with process_name=${pn.value}` : 'without process_name'}: supervisord refuses to start`,
            'add `process_name=%(program_name)s_%(process_num)02d`',
          ),
        );
      }
    }
    return out;
  },
};

export const supervisorAutorestart: Rule = {
  id: 'supervisor-autorestart',
  severity: 'warning',
  description: 'a worker program without `autorestart` (rqctl, Laravel), or with `autorestart=false` (any queue consumer, or a program with numprocs > 1)',
  rationale:
    'The default (`unexpected`) does not restart a worker that exits 0 — which is what a worker does after --max-time, --max-jobs or `rqctl worker restart`. With `false`, any worker that exits stays down. The queue then stops being worked.',
  check(stack) {
    const out: RuleHit[] = [];
    for (const s of stack.supervisor) {
      for (const p of s.programs) {
        const v = p.get('autorestart');
        const value = v?.value.trim().toLowerCase();
        if (!isQueueProgram(p.info.kind)) {
          // Other workers (Sidekiq, Celery, RQ, BullMQ… or numprocs > 1): the default restarts them on a crash; false never does.
          const worker = isAnyWorker(p.info.kind) || p.numprocs > 1 || p.numprocsUnknown;
          if (!worker || !value || !/^(false|no|off|0)$/.test(value)) continue;
          const what = p.info.tool ? `a ${p.info.tool} worker` : `numprocs=${p.numprocsValue?.value.trim()}`;
          out.push(
            hit(
              at(s, p, 'autorestart'),
              `[${p.section.name}] (${what}) has autorestart=${v!.value.trim()}: a worker that exits stays down`,
              'set `autorestart=true`',
            ),
          );
          continue;
        }
        if (value && /^(true|yes|on|1)$/.test(value)) continue;
        out.push(
          hit(
            at(s, p, v ? 'autorestart' : undefined),
            `[${p.section.name}] has autorestart=${v?.value ?? 'unexpected (the default)'}: after a clean exit (--max-time, worker restart) it stays down`,
            'set `autorestart=true`',
          ),
        );
      }
    }
    return out;
  },
};

export const supervisorRootUser: Rule = {
  id: 'supervisor-root-user',
  severity: 'warning',
  description: 'a worker program running as root',
  rationale: 'A job that runs attacker-influenced input (provider responses, mail templates) as root can take over the container.',
  check(stack) {
    const out: RuleHit[] = [];
    for (const s of stack.supervisor) {
      const daemonUser = s.ini.sections.get('supervisord')?.keys.get('user')?.value;
      // Services running this supervisord as a non-root user make every program non-root too.
      const containersNonRoot = s.services.length > 0 && s.services.every(({ service }) => !isRootUser(serviceUser(service, stack)));
      // Beside a compose file that no service runs it from, the container's user is not known (not-checked says so).
      if (!s.services.length && stack.compose.length) continue;
      for (const p of s.programs) {
        if (!isQueueProgram(p.info.kind) && p.info.kind !== 'queue-worker') continue;
        const user = p.get('user')?.value.trim();
        if (user && !isRootUser(user)) continue;
        if (!user && ((daemonUser && !isRootUser(daemonUser)) || containersNonRoot)) continue;
        out.push(
          hit(
            at(s, p, user ? 'user' : undefined),
            `[${p.section.name}] runs as ${user ? user : 'root (no user=, and nothing says supervisord runs as another user)'}`,
            'set `user=` to an unprivileged account (the generated image has `rqctl`), and run supervisord itself as that user',
          ),
        );
      }
    }
    return out;
  },
};

export const supervisorHttpExposed: Rule = {
  id: 'supervisor-http-exposed',
  severity: 'error',
  description: '`[inet_http_server]` not bound to localhost, or without username/password',
  rationale: "supervisord's HTTP interface starts, stops and reconfigures programs: whoever reaches it runs commands.",
  check(stack) {
    const out: RuleHit[] = [];
    for (const s of stack.supervisor) {
      const sec = s.ini.sections.get('inet_http_server');
      if (!sec) continue;
      const port = sec.keys.get('port');
      const host = port ? port.value.trim().replace(/:\d+$/, '') : '';
      const where = { file: s.input.file, line: port?.line ?? sec.line, path: 'inet_http_server.port' };
      if (!port || !/^(127\.\d+\.\d+\.\d+|localhost|\[?::1\]?)$/.test(host))
        out.push(
          hit(
            where,
            `[inet_http_server] listens on ${port ? port.value : '(no port)'}: not only localhost`,
            'use `port=127.0.0.1:9001`, or the unix socket ([unix_http_server]) instead',
          ),
        );
      if (!sec.keys.get('username') || !sec.keys.get('password'))
        out.push(
          hit(
            { file: s.input.file, line: sec.line, path: 'inet_http_server' },
            '[inet_http_server] has no username/password: anyone who reaches it controls the programs',
            'set `username=` and `password=` (or drop [inet_http_server] and use the unix socket)',
          ),
        );
    }
    return out;
  },
};

export const supervisorSocketPerms: Rule = {
  id: 'supervisor-socket-perms',
  severity: 'warning',
  description: '`[unix_http_server]` `chmod` wider than 0770',
  rationale: "Every local user who can open the socket can stop the workers or start programs as supervisord's user.",
  check(stack) {
    const out: RuleHit[] = [];
    for (const s of stack.supervisor) {
      const chmod = s.ini.sections.get('unix_http_server')?.keys.get('chmod');
      if (!chmod) continue;
      const mode = parseInt(chmod.value.trim(), 8);
      if (Number.isFinite(mode) && (mode & 0o007) !== 0)
        out.push(
          hit(
            { file: s.input.file, line: chmod.line, path: 'unix_http_server.chmod' },
            `[unix_http_server] chmod=${chmod.value.trim()} lets every local user control supervisord`,
            'use `chmod=0700` (or 0770 with `chown=user:group`)',
          ),
        );
    }
    return out;
  },
};
