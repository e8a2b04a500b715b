import { checkComposeSchema } from '../compose-schema.js';
import { formatPath, lineAt } from '../yaml-tree.js';
import { diagnosticsFor, hit, type Rule, type RuleHit } from './types.js';

/** Rules for files that do not parse, or that the tool reading them would refuse. */
export const composeSchema: Rule = {
  id: 'compose-schema',
  severity: 'error',
  description: 'YAML that does not parse, or a compose file the compose-spec schema rejects',
  rationale: '`docker compose` refuses the whole file: nothing deploys.',
  check(stack) {
    const out: RuleHit[] = [];
    for (const c of stack.compose) {
      const file = c.input.file;
      for (const e of c.parsed.syntaxErrors)
        out.push(
          hit(
            { file, line: e.line, path: formatPath(e.path) },
            `not valid YAML: ${e.message}`,
            'fix the YAML syntax (indentation, quotes, duplicate keys, anchors)',
          ),
        );
      if (c.parsed.syntaxErrors.length) continue;
      for (const e of c.parsed.interpolationErrors)
        out.push(
          hit(
            { file, line: e.line, path: formatPath(e.path) },
            e.message,
            'write a literal "$" as "$$"; variables as ${NAME}, ${NAME:-default} or ${NAME:?message}',
          ),
        );
      for (const p of c.model.problems.filter((p) => p.kind === 'argv'))
        out.push(hit({ file, line: p.line, path: p.path }, p.message, 'balance the quotes of the command'));
      for (const p of checkComposeSchema(c.plain)) {
        out.push(
          hit(
            { file, line: lineAt(c.parsed.root, p.path), path: formatPath(p.path) },
            `${formatPath(p.path) || 'the file'}: ${p.message}`,
            'see the Compose Specification for this key (https://docs.docker.com/reference/compose-file/)',
          ),
        );
      }
    }
    return out;
  },
};

export const composeVariableUnset: Rule = {
  id: 'compose-variable-unset',
  severity: 'info',
  description: 'a required `${VAR:?…}` variable that is not set where validate runs (compose refuses to start until it is)',
  check(stack) {
    const out: RuleHit[] = [];
    for (const c of stack.compose) {
      const seen = new Set<string>();
      for (const m of c.parsed.missingRequired) {
        if (seen.has(m.name)) continue;
        seen.add(m.name);
        out.push(
          hit(
            { file: c.input.file, line: m.line, path: formatPath(m.path) },
            `${m.name} is not set here; compose will refuse to start until it is ("${m.message}")`,
            `set ${m.name} in the deploy environment or in .env beside ${c.input.file}`,
          ),
        );
      }
    }
    return out;
  },
};

export const composeEnvFileMissing: Rule = {
  id: 'compose-env-file-missing',
  severity: 'warning',
  description: 'an `env_file` that does not exist (compose refuses to start without it)',
  check(stack) {
    return stack.compose.flatMap((c) =>
      c.model.problems
        .filter((p) => p.kind === 'env-file')
        .map((p) =>
          hit(
            { file: c.input.file, line: p.line, path: p.path },
            p.message,
            'create the file on the deploy host, mark it `required: false`, or pass the variables with `environment:` and ${VAR:-} defaults',
          ),
        ),
    );
  },
};

export const redisConfInvalid: Rule = {
  id: 'redis-conf-invalid',
  severity: 'error',
  description:
    'a redis.conf line (or redis-server flag) that redis-server refuses at start: unknown directive, wrong argument count, bad value, or an inline `# comment`',
  rationale: 'redis.conf has whole-line comments only: `maxmemory 256mb # cache` is three arguments, and Redis does not start.',
  check: (stack) =>
    diagnosticsFor(
      stack,
      'redis-conf-invalid',
      'fix the line as the redis-server it runs reads it: one directive and its arguments per line, comments on lines of their own',
    ),
};

export const redisConfVersion: Rule = {
  id: 'redis-conf-version',
  severity: 'warning',
  description:
    'a redis.conf line (or redis-server flag) that some Redis/Valkey versions refuse, on a server whose exact version is not known (no tag, `latest`, a redis.conf alone)',
  rationale: 'A directive added in 7.2 stops a 7.0 server from starting; without a version in the image tag, validate cannot tell which one runs.',
  check: (stack) =>
    diagnosticsFor(
      stack,
      'redis-conf-version',
      'pin the image to a version tag (`redis:7.4`, `valkey/valkey:8.0`) so validate checks against it, or drop the directive',
    ),
};

export const supervisorParse: Rule = {
  id: 'supervisor-parse',
  severity: 'error',
  description: 'a supervisord file that does not parse or that supervisord refuses (no [supervisord], no command, bad numbers, unknown %(expansions)s)',
  check: (stack) => diagnosticsFor(stack, 'supervisor-parse', 'fix the line; `supervisord -n -c FILE` shows the same error'),
};

export const supervisorDuplicate: Rule = {
  id: 'supervisor-duplicate',
  severity: 'error',
  description: 'a duplicate section or key in a supervisord file (supervisord silently merges them, the last value winning)',
  check: (stack) => diagnosticsFor(stack, 'supervisor-duplicate', 'keep one section per program and one line per key'),
};

export const supervisorUnknownKey: Rule = {
  id: 'supervisor-unknown-key',
  severity: 'warning',
  description: 'a key supervisord does not know in a [program:x] section (a typo is silently ignored, e.g. `stopwaitsec`)',
  check: (stack) =>
    diagnosticsFor(stack, 'supervisor-unknown-key', 'spell the key as the supervisord documentation does (http://supervisord.org/configuration.html)'),
};
