import { literalText } from '../interpolate.js';
import type { EnvValue } from '../compose.js';
import type { RedisServer } from '../model.js';
import { authOf, isLiteral, last, whereOf } from './redis-effective-config.js';
import { hit, type Rule, type RuleHit } from './types.js';

const PASSWORD_FIX =
  'require a password: `--requirepass ${REDIS_PASSWORD:?set REDIS_PASSWORD}` on the redis-server command line, or `include /run/secrets/redis-auth.conf` (a secret holding `requirepass …`), or ACL users; `rqctl config generate` writes this';

function label(server: RedisServer): string {
  return `Redis ${server.label}`;
}

export const redisNoAuth: Rule = {
  id: 'redis-no-auth',
  severity: 'error',
  description: 'a Redis without requirepass/ACL users, or whose password is empty after interpolation or the literal `null`',
  rationale: 'Anyone who reaches the port reads and deletes jobs, cache and sessions.',
  check(stack) {
    const out: RuleHit[] = [];
    for (const server of stack.redis) {
      const auth = authOf(server);
      const at = auth.directive ? whereOf(auth.directive) : server.where;
      if (auth.state === 'none') {
        const message = auth.directive
          ? `${label(server)} starts without a password: ${auth.reason}`
          : `${label(server)} accepts connections without a password (no requirepass and no ACL user)`;
        out.push(hit(at, message, PASSWORD_FIX));
      } else if (auth.state === 'required' && auth.password && auth.password.value.toLowerCase() === 'null') {
        out.push(
          hit(at, `${label(server)} has the password "null" — the old stack's REDIS_PASSWORD=null meant "no password", and anyone can guess it`, PASSWORD_FIX),
        );
      }
    }
    return out;
  },
};

/** REDIS_PASSWORD, REDIS_CACHE_PASSWORD, … and URLs with a password inside. */
function redisSecretEntries(env: Map<string, EnvValue>): [string, EnvValue, string][] {
  const out: [string, EnvValue, string][] = [];
  for (const [k, v] of env) {
    if (v.fromEnvFile || v.raw === undefined) continue;
    if (/^REDIS(_[A-Z]+)?_PASSWORD$/.test(k)) out.push([k, v, v.raw]);
    else if (/^REDIS(_[A-Z]+)?_URL$/.test(k)) {
      const m = /^rediss?:\/\/[^:@/]*:([^@]+)@/.exec(v.raw);
      if (m) out.push([k, v, m[1]]);
    }
  }
  return out;
}

function literalSecret(raw: string): boolean {
  const lit = literalText(raw).trim();
  if (lit && lit.toLowerCase() !== 'null') return true;
  return /\$\{[A-Za-z_][A-Za-z0-9_]*:?-(?!\}|null\})[^}]+\}/.test(raw);
}

export const redisPasswordLiteral: Rule = {
  id: 'redis-password-literal',
  severity: 'warning',
  description: 'a password written literally in a committed file instead of `${VAR}` or a secret',
  rationale: 'Everyone with the repository (and every CI log that prints it) has the password; rotating it means a commit.',
  check(stack) {
    const out: RuleHit[] = [];
    const fix = 'reference the environment instead (`${REDIS_PASSWORD:?set REDIS_PASSWORD}`), or mount a secret file; then rotate the leaked password';
    for (const server of stack.redis) {
      for (const d of server.directives.filter((d) => d.name === 'requirepass' || d.name === 'masterauth' || d.name === 'user')) {
        const args = d.name === 'user' ? d.args.filter((a) => a.value.startsWith('>')).map((a) => ({ ...a, value: a.value.slice(1) })) : d.args.slice(0, 1);
        for (const a of args) {
          if (!a.value || a.value.toLowerCase() === 'null') continue;
          if (d.source === 'conf' && /\$\{?[A-Za-z_]/.test(a.value)) continue; // redis-conf-variable reports this
          if (isLiteral(a, d.source)) out.push(hit(whereOf(d), `${d.name} of Redis ${server.label} is written literally in ${d.file}`, fix));
        }
      }
    }
    for (const c of stack.compose) {
      for (const svc of c.model.services) {
        for (const [k, v, raw] of redisSecretEntries(svc.environment)) {
          if (literalSecret(raw))
            out.push(hit({ file: c.input.file, line: v.line, path: v.path }, `${k} of service "${svc.name}" holds a literal password`, fix));
        }
      }
    }
    for (const s of stack.supervisor) {
      for (const p of s.programs) {
        const env = p.get('environment');
        if (!env) continue;
        for (const m of env.value.matchAll(/(REDIS(?:_[A-Z]+)?_PASSWORD)\s*=\s*("[^"]*"|'[^']*'|[^,\s]*)/g)) {
          const value = m[2].replace(/^["']|["']$/g, '');
          if (value && value.toLowerCase() !== 'null' && !/^%\(ENV_[A-Z0-9_]+\)s$/.test(value))
            out.push(
              hit(
                { file: s.input.file, line: env.line, path: `${p.section.name}.environment` },
                `${m[1]} of [${p.section.name}] is a literal password`,
                'leave REDIS_PASSWORD to the container environment (supervisord passes it on), or use %(ENV_REDIS_PASSWORD)s',
              ),
            );
        }
      }
    }
    return out;
  },
};

export const redisConfVariable: Rule = {
  id: 'redis-conf-variable',
  severity: 'error',
  description: 'a `${VAR}` in a redis.conf value: redis.conf cannot read the environment, so the value is that text itself',
  rationale:
    '`requirepass ${REDIS_PASSWORD}` in redis.conf sets the password to the 16 characters "${REDIS_PASSWORD}", which anyone reading the repository knows.',
  check(stack) {
    const out: RuleHit[] = [];
    for (const server of stack.redis) {
      for (const d of server.directives) {
        if (d.source !== 'conf') continue;
        const a = d.args.find((x) => /\$\{?[A-Za-z_][A-Za-z0-9_]*\}?/.test(x.value));
        if (a)
          out.push(
            hit(
              whereOf(d),
              `${d.name} ${a.value} in ${d.file}: redis.conf does not expand variables, so the value is literally "${a.value}"`,
              'pass the value on the redis-server command line in compose (`--requirepass ${REDIS_PASSWORD:?…}`), or `include` a secret file that holds the real line',
            ),
          );
      }
    }
    return out;
  },
};

function cmdlinePasswords(words: string[]): string | undefined {
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if ((w === '-a' || w === '--pass' || w === '--password') && words[i + 1]) return `${w} ${words[i + 1] ? '…' : ''}`.trim();
    if (/^--(pass|password|requirepass)=/.test(w)) return w.split('=')[0];
    if (/rediss?:\/\/[^:@/\s]*:[^@\s]+@/.test(w)) return 'a redis:// URL with a password';
  }
  return undefined;
}

export const redisPasswordCmdline: Rule = {
  id: 'redis-password-cmdline',
  severity: 'warning',
  description: 'a password on a command line (visible in `ps` and `docker inspect`)',
  rationale:
    'redis.conf cannot read the environment, so `--requirepass ${REDIS_PASSWORD}` is the common way in; it shows in `docker inspect` and in `ps` inside the container. A secret file avoids both.',
  check(stack) {
    const out: RuleHit[] = [];
    for (const server of stack.redis) {
      for (const d of server.directives.filter((x) => (x.name === 'requirepass' || x.name === 'masterauth') && x.source === 'flag')) {
        // A `$VAR` reference is on the command line whatever its value here (unknown, or empty in CI).
        if (!d.args[0]?.value && !d.args[0]?.unknown && !/\$/.test(d.args[0]?.raw ?? '')) continue;
        out.push(
          hit(
            whereOf(d),
            `Redis ${server.label} gets its ${d.name} on the command line: \`docker inspect\` and \`ps\` show it`,
            'acceptable when the host is yours; to hide it, mount a secret file with `requirepass …` and `include` it from redis.conf (or an ACL file via `aclfile`)',
          ),
        );
      }
    }
    for (const c of stack.compose) {
      for (const svc of c.model.services) {
        const hc = svc.healthcheck;
        if (hc) {
          const words = hc.kind === 'CMD-SHELL' || hc.kind === 'string' ? hc.words.flatMap((w) => w.value.split(/\s+/)) : hc.words.map((w) => w.value);
          const found = cmdlinePasswords(words);
          if (found)
            out.push(
              hit(
                { file: c.input.file, line: hc.line, path: hc.path },
                `the healthcheck of service "${svc.name}" passes the password on the command line (${found}): \`docker inspect\` and \`ps\` show it`,
                'let redis-cli read it from the environment: set REDISCLI_AUTH in the service environment and run `redis-cli ping`',
              ),
            );
        }
        const argv = [...(svc.entrypoint?.words ?? []), ...(svc.command?.words ?? [])].map((w) => w.value);
        if (!stack.redis.some((r) => r.service === svc)) {
          const found = cmdlinePasswords(argv);
          if (found)
            out.push(
              hit(
                { file: c.input.file, line: svc.command?.line ?? svc.line, path: svc.command?.path ?? svc.path },
                `service "${svc.name}" has a password on its command line (${found})`,
                'pass it as REDIS_PASSWORD in the environment instead',
              ),
            );
        }
      }
    }
    for (const s of stack.supervisor) {
      for (const p of s.programs) {
        if (!p.command) continue;
        const found = cmdlinePasswords(p.command.value.split(/\s+/));
        if (found)
          out.push(
            hit(
              { file: s.input.file, line: p.command.line, path: `${p.section.name}.command` },
              `[${p.section.name}] has a password on its command line (${found}): \`ps\` shows it`,
              'pass it as REDIS_PASSWORD in the environment instead',
            ),
          );
      }
    }
    return out;
  },
};

const ALL_INTERFACES = ['0.0.0.0', '*', '::', '-::*', '::*'];

export const redisProtectedModeOff: Rule = {
  id: 'redis-protected-mode-off',
  severity: 'error',
  description: '`protected-mode no` or `bind 0.0.0.0`/`*` without auth',
  rationale: 'Protected mode is what keeps a password-less Redis from answering strangers; off, the server is open to every network it can reach.',
  check(stack) {
    const out: RuleHit[] = [];
    for (const server of stack.redis) {
      const auth = authOf(server);
      if (auth.state !== 'none') continue;
      const pm = last(server, 'protected-mode');
      const bind = last(server, 'bind');
      const fix = 'set a password (requirepass or ACL users); keep `protected-mode yes`; bind to 127.0.0.1 or the private interface';
      if (pm && pm.args[0]?.value.toLowerCase() === 'no')
        out.push(hit(whereOf(pm), `Redis ${server.label} has protected-mode no and no password: it answers anyone who can reach it`, fix));
      else if (bind && bind.args.some((a) => ALL_INTERFACES.includes(a.value)))
        out.push(hit(whereOf(bind), `Redis ${server.label} binds ${bind.args.map((a) => a.value).join(' ')} with no password`, fix));
      else if (!pm && server.officialImage) {
        out.push(
          hit(
            server.where,
            `Redis ${server.label} runs the official ${server.officialImage} image, whose build turns protected mode off by default, and has no password`,
            fix,
          ),
        );
      }
    }
    return out;
  },
};
