import { basename, dirname, posix, resolve } from 'node:path';
import { ROLES, type Role } from '../../config/endpoints.js';
import type { ComposeService, Word } from './compose.js';
import { classifyArgv } from './commands.js';
import { parseRedisArgs, parseRedisConf, type RedisArg, type RedisDirective } from './redis-conf.js';
import { versionOfImage } from './redis-versions.js';
import { projectRoots, readSafely } from './read-safe.js';
import { programName } from './shell-words.js';
import type { ComposeInput, InputFile, RedisServer, StackContext } from './stack.js';
import type { Where } from './finding.js';

/*
 * The Redis servers of a compose file (docs/validate.md, "How files are read together"): which services
 * run one, with what command line, which mounted redis.conf (read only as read-safe.ts allows), which
 * version (from the image tag), and which roles each holds.
 */

const REDIS_PROGRAMS = new Set(['redis-server', 'valkey-server', 'redis-stack-server', 'keydb-server']);
const NOT_SERVERS = /(insight|commander|exporter|sentinel|cli|browser|ui|admin|stat|monitor|tools?)(:|$|-)/i;

/** `redis`, `redis:7`, `docker.io/library/redis:7-alpine`, `bitnami/redis`, `valkey/valkey`, `redis/redis-stack-server`… */
export function isRedisImage(image: string | undefined): boolean {
  if (!image) return false;
  const noTag = image.replace(/@.*$/, '').replace(/:[^/:]*$/, '');
  const repo = noTag.split('/').pop() ?? '';
  if (NOT_SERVERS.test(repo)) return false;
  return /^(redis|valkey|keydb|redis-stack|redis-stack-server)$/.test(repo);
}

function isBitnami(image: string | undefined): boolean {
  return !!image && /(^|\/)bitnami\/(redis|valkey)(:|$)/.test(image.replace(/@.*$/, ''));
}

/** The Docker Official Image of Redis or Valkey (built with protected mode off), by name; undefined otherwise. */
function officialImageName(image: string | undefined): 'redis' | 'valkey' | undefined {
  if (!image) return undefined;
  const noTag = image.replace(/@.*$/, '').replace(/:[^/:]*$/, '');
  const m = /^(?:docker\.io\/)?(?:library\/)?(redis|valkey\/valkey|valkey)$/.exec(noTag);
  if (!m) return undefined;
  return m[1] === 'redis' ? 'redis' : 'valkey';
}

/** The argv a service runs: entrypoint + command. */
export function serviceArgv(svc: ComposeService): Word[] {
  return [...(svc.entrypoint?.words ?? []), ...(svc.command?.words ?? [])];
}

function scriptOf(argv: string[]): string[][] | undefined {
  const info = classifyArgv(argv);
  return info.commands.length === 1 && info.commands[0] === argv ? undefined : info.commands;
}

/**
 * `$VAR` / `${VAR}` in a container's shell script, expanded from the service's environment. A variable
 * that is not in it is empty — unless an env_file was not read or its value is unknown, then unknown.
 */
function expandShellWord(word: string, svc: ComposeService): { value: string; unknown?: string } {
  let unknown: string | undefined;
  const value = word.replace(/\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g, (_m, a: string | undefined, b: string | undefined) => {
    const name = (a ?? b)!;
    const v = svc.environment.get(name);
    if (v?.unknown) unknown ??= v.unknown;
    else if (!v && svc.envUnknown) unknown ??= `${name} is not in the service's environment as read here, and ${svc.envUnknown}`;
    return v?.value ?? '';
  });
  return { value, unknown };
}

/** The redis-server words of a service (program name removed), or undefined when it runs no Redis server. */
function redisServerArgs(svc: ComposeService): Word[] | undefined {
  const argv = serviceArgv(svc);
  const imageIsRedis = isRedisImage(svc.image);
  if (argv.length === 0) return imageIsRedis ? [] : undefined;
  const first = programName(argv[0].value);
  if (REDIS_PROGRAMS.has(first)) return argv.slice(1);
  // The official image's entrypoint prepends redis-server when the first word is a flag or a .conf file.
  if (imageIsRedis && !svc.entrypoint && (argv[0].value.startsWith('-') || argv[0].value.endsWith('.conf'))) return argv;
  // `sh -c "… redis-server …"`: the words after redis-server in the script.
  const script = svc.command || svc.entrypoint ? scriptOf(argv.map((w) => w.value)) : undefined;
  if (script) {
    const where = argv[argv.length - 1];
    for (const words of script) {
      const at = words.findIndex((w) => REDIS_PROGRAMS.has(programName(w)));
      if (at >= 0)
        return words.slice(at + 1).map((word) => {
          const expanded = expandShellWord(word, svc);
          return { value: expanded.value, unknown: expanded.unknown, raw: word, line: where.line, path: where.path };
        });
    }
  }
  return undefined;
}

function wordsToArgs(words: Word[]): RedisArg[] {
  return words.map((w) => ({ value: w.value, raw: w.raw, line: w.line, ...(w.unknown ? { unknown: w.unknown } : {}) }));
}

/** The host file behind a path inside the container: a bind mount of the file or of a folder above it, or a compose config. */
export function mountedSource(svc: ComposeService, containerPath: string, composeAbs: string): string | undefined {
  const base = dirname(composeAbs);
  for (const v of svc.volumes) {
    if (v.type !== 'bind' || !v.source) continue;
    const target = posix.normalize(v.target).replace(/\/$/, '');
    const wanted = posix.normalize(containerPath);
    if (wanted === target) return resolve(base, v.source);
    if (wanted.startsWith(`${target}/`)) return resolve(base, v.source, wanted.slice(target.length + 1));
  }
  for (const c of svc.configFiles) if (posix.normalize(c.target) === posix.normalize(containerPath)) return resolve(base, c.source);
  return undefined;
}

/** bitnami/redis is configured by environment: REDIS_PASSWORD(_FILE), REDIS_DISABLE_COMMANDS, REDIS_AOF_ENABLED (default yes). */
function bitnamiDirectives(svc: ComposeService, file: string): RedisDirective[] {
  const out: RedisDirective[] = [];
  const env = svc.environment;
  const mk = (name: string, args: RedisArg[], key: string): RedisDirective => {
    const e = env.get(key);
    return { name, args, file, line: e?.line ?? svc.line, path: e?.path ?? svc.path, source: 'env' };
  };
  const pw = env.get('REDIS_PASSWORD');
  if (env.get('REDIS_PASSWORD_FILE')?.value)
    out.push({ name: 'include', args: [{ value: env.get('REDIS_PASSWORD_FILE')!.value! }], file, line: svc.line, path: svc.path, source: 'env' });
  else if (pw)
    out.push(mk('requirepass', [{ value: pw.value ?? '', raw: pw.raw, line: pw.line, ...(pw.unknown ? { unknown: pw.unknown } : {}) }], 'REDIS_PASSWORD'));
  else if (svc.envUnknown)
    // REDIS_PASSWORD may be in the env_file that was not read.
    out.push(mk('requirepass', [{ value: '', unknown: `REDIS_PASSWORD may be set there: ${svc.envUnknown}` }], 'REDIS_PASSWORD'));
  for (const c of (env.get('REDIS_DISABLE_COMMANDS')?.value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean))
    out.push(mk('rename-command', [{ value: c }, { value: '' }], 'REDIS_DISABLE_COMMANDS'));
  const aof = env.get('REDIS_AOF_ENABLED')?.value ?? 'yes';
  out.push(mk('appendonly', [{ value: aof === 'no' ? 'no' : 'yes' }], 'REDIS_AOF_ENABLED'));
  return out;
}

/** The Redis server a compose service runs, with its config file and command line, or undefined. */
export function readRedisService(svc: ComposeService, compose: ComposeInput, ctx: StackContext): RedisServer | undefined {
  const args = redisServerArgs(svc);
  if (!args) return undefined;
  const cmd = svc.command ?? svc.entrypoint;
  const where: Where = { file: compose.input.file, line: cmd?.line ?? svc.line, path: cmd?.path ?? svc.path };
  const version = versionOfImage(svc.image);
  const parsedArgs = parseRedisArgs(
    wordsToArgs(args),
    compose.input.file,
    (i) => args[i]?.path ?? where.path,
    (i) => args[i]?.line ?? where.line,
    version,
  );
  for (const p of parsedArgs.problems)
    ctx.diag({
      rule: p.severity === 'warning' ? 'redis-conf-version' : 'redis-conf-invalid',
      file: compose.input.file,
      line: p.line,
      path: p.path,
      message: `service "${svc.name}": ${p.message}`,
    });
  const official = officialImageName(svc.image);
  const server: RedisServer = {
    label: `service "${svc.name}"`,
    where,
    roles: [],
    rolesReason: '',
    directives: [],
    hasExternalConfig: false,
    service: svc,
    compose,
    version,
    dropsPrivileges: !!official && !svc.user,
    officialImage: official && !svc.entrypoint ? official : undefined,
  };
  if (parsedArgs.configFile) readMountedConf(server, parsedArgs.configFile.value, ctx, version);
  if (isBitnami(svc.image)) server.directives.push(...bitnamiDirectives(svc, compose.input.file));
  server.directives.push(...parsedArgs.directives);
  server.hasExternalConfig = server.directives.some((d) => d.name === 'include' || d.name === 'aclfile');
  return server;
}

/** The redis.conf a service names, read from its bind mount when validate may read it; else why not (an info). */
function readMountedConf(server: RedisServer, confPath: string, ctx: StackContext, version: RedisServer['version']): void {
  const svc = server.service!;
  const compose = server.compose!;
  server.confPath = confPath;
  const host = mountedSource(svc, confPath, compose.input.absPath);
  const given = host ? ctx.redisInputs.get(host) : undefined;
  const display = host ? (given?.file ?? ctx.display(host)) : undefined;
  const read = host && !given ? readSafely(host, display!, projectRoots(compose.input.absPath, ctx.cwd)) : undefined;
  if (host && (given || read?.ok)) {
    const text = given?.text ?? (read as { text: string }).text;
    ctx.consumed.add(host);
    server.confFile = display;
    server.label = `service "${svc.name}" (${display})`;
    const conf = parseRedisConf(text, display!, version);
    for (const p of conf.problems)
      ctx.diag({
        rule: p.severity === 'warning' ? 'redis-conf-version' : 'redis-conf-invalid',
        file: display!,
        line: p.line,
        path: p.path,
        message: p.message,
      });
    server.directives.push(...conf.directives);
    return;
  }
  const refused = read && !read.ok ? read : undefined;
  const why = !refused
    ? `${confPath}, which is not bind-mounted from this project (it lives in the image or a volume)`
    : refused.refusal === 'missing'
      ? `${confPath}, mounted from ${display}, which does not exist here`
      : `${confPath}, mounted from ${refused.reason}`;
  server.confUnknown = why;
  const sameName = [...ctx.redisInputs.values()].find((f) => basename(f.absPath) === basename(host ?? confPath));
  ctx.notChecked({
    where: server.where,
    message: `Redis service "${svc.name}" reads its configuration from ${why}: the checks that need it (password, maxmemory, eviction policy, persistence, renamed commands) are not checked`,
    fix: sameName
      ? `${sameName.file} was given with the same name: if it is this file, mount it from there (\`./${sameName.file}:${confPath}:ro\`) or name the mounted path on the command line`
      : `name the file on the command line if it is in the repository, or mount it from the project (\`./redis.conf:${confPath}:ro\`)`,
  });
}

function hostOf(value: string | undefined): string | undefined {
  if (!value) return undefined;
  if (/^rediss?:\/\//.test(value)) {
    try {
      return new URL(value).hostname || undefined;
    } catch {
      return /^rediss?:\/\/(?:[^@/]*@)?([^:/]+)/.exec(value)?.[1];
    }
  }
  return value.split(':')[0] || undefined;
}

export function assignRoles(compose: ComposeInput, servers: RedisServer[]): void {
  if (servers.length === 0) return;
  if (servers.length === 1) {
    servers[0].roles = [...ROLES];
    servers[0].rolesReason = 'the only Redis in the compose file holds every role';
    return;
  }
  const byHostname = new Map<string, RedisServer>();
  for (const s of servers) for (const h of s.service!.hostnames) if (!byHostname.has(h)) byHostname.set(h, s);
  const byHost = (host: string | undefined) => (host === undefined ? undefined : byHostname.get(host));
  const serverServices = new Set(servers.map((s) => s.service));
  const assigned = new Map<Role, { server: RedisServer; why: string }>();
  for (const svc of compose.model.services) {
    if (serverServices.has(svc)) continue;
    const env = svc.environment;
    const get = (k: string) => env.get(k)?.value;
    const base = byHost(hostOf(get('REDIS_URL')) ?? hostOf(get('REDIS_HOST')));
    const perRole: Record<Role, [string, RedisServer | undefined]> = {
      queue: ['REDIS_QUEUE_URL', byHost(hostOf(get('REDIS_QUEUE_URL')))],
      cache: ['REDIS_CACHE_URL', byHost(hostOf(get('REDIS_CACHE_URL')))],
      session: ['REDIS_SESSION_URL', byHost(hostOf(get('REDIS_SESSION_URL')))],
    };
    for (const role of ROLES) {
      if (assigned.has(role)) continue;
      const [name, server] = perRole[role];
      if (server) assigned.set(role, { server, why: `${name} of service "${svc.name}"` });
      else if (base && !get(name)) assigned.set(role, { server: base, why: `${get('REDIS_URL') ? 'REDIS_URL' : 'REDIS_HOST'} of service "${svc.name}"` });
    }
  }
  // Roles no app names: from the services' names.
  const byName = (word: string) => servers.filter((s) => s.service!.name.toLowerCase().includes(word));
  for (const role of ROLES) {
    if (assigned.has(role)) continue;
    const named = byName(role);
    if (named.length === 1) assigned.set(role, { server: named[0], why: `its name` });
  }
  if (!assigned.has('session') && assigned.get('queue')?.why === 'its name')
    assigned.set('session', { server: assigned.get('queue')!.server, why: 'its name (queue servers hold sessions too)' });
  const claimed = new Set([...assigned.values()].map((a) => a.server));
  const unclaimed = servers.filter((s) => !claimed.has(s));
  if (unclaimed.length === 1)
    for (const role of ROLES) if (!assigned.has(role)) assigned.set(role, { server: unclaimed[0], why: 'the only Redis no other role names' });
  for (const s of servers) {
    const mine = ROLES.filter((r) => assigned.get(r)?.server === s);
    s.roles = mine;
    s.rolesReason = mine.length ? [...new Set(mine.map((r) => assigned.get(r)!.why))].join('; ') : 'no app service names it and its name gives no role';
  }
}

/** A lone redis.conf: every role unless its name says cache (cache only) or queue (queue and session). */
export function rolesFromFileName(file: string): Role[] {
  const name = basename(file).toLowerCase();
  if (name.includes('cache')) return ['cache'];
  if (name.includes('queue')) return ['queue', 'session'];
  if (name.includes('session')) return ['session'];
  return [...ROLES];
}

/** A redis.conf no compose file mounts, judged alone (its version is not known). */
export function readLoneRedisConf(input: InputFile, ctx: StackContext): RedisServer {
  const conf = parseRedisConf(input.text, input.file);
  for (const p of conf.problems)
    ctx.diag({
      rule: p.severity === 'warning' ? 'redis-conf-version' : 'redis-conf-invalid',
      file: input.file,
      line: p.line,
      path: p.path,
      message: p.message,
    });
  const roles = rolesFromFileName(input.file);
  return {
    label: input.file,
    where: { file: input.file, line: 1, path: '' },
    roles,
    rolesReason: roles.length === 3 ? 'a redis.conf alone holds every role' : `its file name says ${roles.includes('cache') ? 'cache' : 'queue'}`,
    directives: conf.directives,
    confFile: input.file,
    hasExternalConfig: conf.directives.some((d) => d.name === 'include' || d.name === 'aclfile'),
    version: versionOfImage(undefined),
    dropsPrivileges: false,
  };
}
