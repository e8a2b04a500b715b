import { basename, dirname, isAbsolute, relative, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { parseYamlTree, toPlain } from './yaml-tree.js';
import { readComposeModel } from './compose.js';
import { splitArgs } from './redis-conf.js';
import { DIRECTIVES } from './redis-directives.js';
import { readDockerfile } from './dockerfile.js';
import { projectRoots, readSafely } from './read-safe.js';
import { assignRoles, readLoneRedisConf, readRedisService } from './redis-servers.js';
import { readSupervisor } from './placement.js';
import type { ComposeInput, FileKind, InputFile, RedisServer, Stack, StackContext } from './stack.js';

export type * from './stack.js';

export function displayName(absPath: string, cwd: string): string {
  const rel = relative(cwd, absPath);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : absPath;
}

export function buildStack(files: InputFile[], options: { cwd: string; env: Record<string, string | undefined> }): Stack {
  const stack: Stack = { cwd: options.cwd, files, compose: [], supervisor: [], redis: [], diagnostics: [], notChecked: [], secrets: new Set() };
  const ctx: StackContext = {
    cwd: options.cwd,
    diag: (d) => stack.diagnostics.push(d),
    notChecked: (n) => stack.notChecked.push(n),
    redisInputs: new Map(files.filter((f) => f.kind === 'redis').map((f) => [f.absPath, f])),
    consumed: new Set(),
    display: (abs) => displayName(abs, options.cwd),
  };
  for (const input of files.filter((f) => f.kind === 'compose')) stack.compose.push(readCompose(input, options, ctx));
  for (const compose of stack.compose) {
    const servers: RedisServer[] = [];
    for (const svc of compose.model.services) {
      const server = readRedisService(svc, compose, ctx);
      if (server) servers.push(server);
    }
    assignRoles(compose, servers);
    stack.redis.push(...servers);
  }
  // A redis.conf no compose file mounts is judged alone.
  for (const input of files.filter((f) => f.kind === 'redis' && !ctx.consumed.has(f.absPath))) stack.redis.push(readLoneRedisConf(input, ctx));
  for (const input of files.filter((f) => f.kind === 'supervisord')) stack.supervisor.push(readSupervisor(input, stack, ctx));
  collectSecrets(stack);
  return stack;
}

/** A compose file with its `.env`, its services, and their Dockerfiles (each read only as read-safe.ts allows). */
function readCompose(input: InputFile, options: { cwd: string; env: Record<string, string | undefined> }, ctx: StackContext): ComposeInput {
  const roots = projectRoots(input.absPath, options.cwd);
  // The environment wins over `.env` beside the compose file, as with `docker compose`.
  const dotenv = readSafely(resolve(dirname(input.absPath), '.env'), '.env', roots);
  const env = { ...(dotenv.ok ? (parseEnv(dotenv.text) as Record<string, string>) : {}), ...options.env };
  const parsed = parseYamlTree(input.text, env);
  const model = readComposeModel(parsed, input.file, input.absPath, env, roots);
  for (const svc of model.services) {
    if (!svc.build) continue;
    const path = resolve(dirname(input.absPath), svc.build.context, svc.build.dockerfile);
    const read = readSafely(path, ctx.display(path), roots);
    if (read.ok) svc.dockerfile = readDockerfile(read.text);
  }
  for (const p of model.problems.filter((x) => x.kind === 'not-read'))
    ctx.notChecked({
      where: { file: input.file, line: p.line, path: p.path },
      message: `${p.message}; the values it sets are unknown here, and the checks that depend on them are not asserted`,
      fix: 'keep env files inside the project folder (and out of the repository), or pass the variables in the environment that runs validate',
    });
  return { input, env, parsed, plain: toPlain(parsed.root), model };
}

/**
 * Values a finding must never show: whatever came from the environment, `.env` or an env_file under a
 * secret-looking name, and passwords that were interpolated. (A password written literally in a committed
 * file is no secret from its readers; redis-password-literal reports it without quoting it.)
 */
function collectSecrets(stack: Stack): void {
  const add = (v: string | undefined) => {
    if (v && v.length >= 4 && v.toLowerCase() !== 'null' && !/^\$\{?[A-Za-z_]/.test(v)) stack.secrets.add(v);
  };
  const secretName = /PASS|SECRET|TOKEN|KEY|AUTH|CREDENTIAL/i;
  for (const c of stack.compose) {
    for (const [k, v] of Object.entries(c.env)) if (secretName.test(k)) add(v);
    for (const svc of c.model.services) for (const [k, v] of svc.environment) if (secretName.test(k) && v.fromEnvFile) add(v.value);
  }
  for (const server of stack.redis)
    for (const d of server.directives) {
      const interpolated = (a: { raw?: string } | undefined) => d.source !== 'conf' && !!a?.raw && a.raw.includes('$');
      if (['requirepass', 'masterauth', 'primaryauth'].includes(d.name) && interpolated(d.args[0])) add(d.args[0]?.value);
      if (d.name === 'user') for (const a of d.args) if (/^[<>]/.test(a.value) && interpolated(a)) add(a.value.slice(1));
    }
}

/** Guesses a file's kind from its name, else its content (docs/validate.md). */
export function kindOf(file: string, text: string): FileKind | undefined {
  const name = basename(file).toLowerCase();
  if (/\.ya?ml$/.test(name)) return 'compose';
  // A sentinel.conf is not a redis.conf (its `sentinel …` lines are refused by redis-server itself).
  if (name.includes('sentinel')) return undefined;
  if (name.includes('supervisor')) return 'supervisord';
  if (name.endsWith('.conf') && name.includes('redis')) return 'redis';
  if (name.endsWith('.acl')) return 'acl';
  if (/^\s*services\s*:/m.test(text)) return 'compose';
  if (/^\s*\[(supervisord|program:[^\]]+|unix_http_server|inet_http_server|supervisorctl)\]/m.test(text)) return 'supervisord';
  const first = text
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l && !l.startsWith('#'));
  if (first) {
    try {
      const word = splitArgs(first)[0]?.value.toLowerCase();
      if (word && (DIRECTIVES[word] || ['include', 'rename-command', 'user', 'loadmodule'].includes(word))) return 'redis';
    } catch {
      /* not redis.conf */
    }
  }
  return undefined;
}
