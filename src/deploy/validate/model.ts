import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, posix, relative, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { ROLES, type Role } from '../../config/endpoints.js';
import { parseYamlTree, toPlain, type ParsedYaml } from './yaml-tree.js';
import { readComposeModel, type ComposeFile, type ComposeService, type Word } from './compose.js';
import { badExpansions, parseIni, PROGRAM_KEYS, type IniSection, type IniValue, type ParsedIni } from './supervisord.js';
import { parseRedisArgs, parseRedisConf, splitArgs, type RedisArg, type RedisDirective } from './redis-conf.js';
import { classifyArgv, classifyCommandLine, type ProgramInfo } from './commands.js';
import { programName } from './shell-words.js';
import { DIRECTIVES } from './redis-directives.js';
import type { Diagnostic, Where } from './finding.js';

/**
 * Everything the rules look at, read together (docs/validate.md, "How files are read together"): compose
 * files with their services, Redis servers (a compose service with its mounted redis.conf and command
 * line, or a redis.conf alone) with their roles, supervisord files with their programs and the compose
 * services they configure. Parsers leave their findings as diagnostics for the rule of that id.
 */
/** `acl`: an aclfile of Redis ACL users (docs/acl.md). */
export type FileKind = 'compose' | 'supervisord' | 'redis' | 'acl';

export interface InputFile {
  /** As shown in findings: relative to the working directory when inside it. */
  file: string;
  absPath: string;
  kind: FileKind;
  text: string;
}

export interface ComposeInput {
  input: InputFile;
  env: Record<string, string | undefined>;
  parsed: ParsedYaml;
  plain: unknown;
  model: ComposeFile;
}

export interface RedisServer {
  /** `service "redis-cache" (docker-compose.prod.yml)` or `docker/redis.conf`. */
  label: string;
  /** Where a finding about the server as a whole points: the service's command (or the service), or line 1 of a lone redis.conf. */
  where: Where;
  roles: Role[];
  rolesReason: string;
  /** The redis.conf directives, then the command line's (which win). */
  directives: RedisDirective[];
  /** The config file named on the command line, when there is one. */
  confPath?: string;
  /** The host file read as the config, when found. */
  confFile?: string;
  /** Set when a config file is named but could not be read: absence rules stay quiet. */
  confUnknown?: string;
  /** Its config includes other files or an ACL file rqctl cannot see (auth may live there). */
  hasExternalConfig: boolean;
  service?: ComposeService;
  compose?: ComposeInput;
  /** The official image's entrypoint drops root for the `redis` user by itself. */
  dropsPrivileges: boolean;
  /** The official redis image (built with protected mode off by default). */
  officialImage: boolean;
}

export interface SupervisorProgram {
  name: string;
  section: IniSection;
  file: string;
  command?: IniValue;
  info: ProgramInfo;
  numprocs: number;
  numprocsValue?: IniValue;
  get(key: string): IniValue | undefined;
}

export interface SupervisorInput {
  input: InputFile;
  ini: ParsedIni;
  programs: SupervisorProgram[];
  /** The compose services whose containers run this supervisord (empty without a compose file). */
  services: { service: ComposeService; compose: ComposeInput }[];
}

export interface Stack {
  cwd: string;
  files: InputFile[];
  compose: ComposeInput[];
  supervisor: SupervisorInput[];
  redis: RedisServer[];
  diagnostics: Diagnostic[];
}

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

function isOfficialImage(image: string | undefined): boolean {
  if (!image) return false;
  const noTag = image.replace(/@.*$/, '').replace(/:[^/:]*$/, '');
  return /^((docker\.io\/)?(library\/)?(redis|valkey\/valkey))$/.test(noTag);
}

/** The argv a service runs: entrypoint + command, or the image's default for Redis images. */
function serviceArgv(svc: ComposeService): Word[] {
  const entry = svc.entrypoint?.words ?? [];
  const cmd = svc.command?.words ?? [];
  return [...entry, ...cmd];
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
  const script = svc.command ? scriptOf(argv.map((w) => w.value)) : undefined;
  if (script) {
    const where = argv[argv.length - 1];
    for (const words of script) {
      const at = words.findIndex((w) => REDIS_PROGRAMS.has(programName(w)));
      if (at >= 0) return words.slice(at + 1).map((word) => ({ value: expandShellVars(word, svc), raw: word, line: where.line, path: where.path }));
    }
  }
  return undefined;
}

/** `$VAR` / `${VAR}` in a container's shell script, expanded from the service's environment (unset: empty). */
function expandShellVars(word: string, svc: ComposeService): string {
  return word.replace(
    /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g,
    (_m, a: string | undefined, b: string | undefined) => svc.environment.get((a ?? b)!)?.value ?? '',
  );
}

function scriptOf(argv: string[]): string[][] | undefined {
  const info = classifyArgv(argv);
  return info.commands.length === 1 && info.commands[0] === argv ? undefined : info.commands;
}

export function displayName(absPath: string, cwd: string): string {
  const rel = relative(cwd, absPath);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : absPath;
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

function assignRoles(compose: ComposeInput, servers: RedisServer[]): void {
  if (servers.length === 0) return;
  if (servers.length === 1) {
    servers[0].roles = [...ROLES];
    servers[0].rolesReason = 'the only Redis in the compose file holds every role';
    return;
  }
  const byHost = (host: string | undefined) => servers.find((s) => host !== undefined && s.service!.hostnames.includes(host));
  const assigned = new Map<Role, { server: RedisServer; why: string }>();
  for (const svc of compose.model.services) {
    if (servers.some((s) => s.service === svc)) continue;
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
  const unclaimed = servers.filter((s) => ![...assigned.values()].some((a) => a.server === s));
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

function wordsToArgs(words: Word[]): RedisArg[] {
  return words.map((w) => ({ value: w.value, raw: w.raw, line: w.line }));
}

export function buildStack(files: InputFile[], options: { cwd: string; env: Record<string, string | undefined> }): Stack {
  const stack: Stack = { cwd: options.cwd, files, compose: [], supervisor: [], redis: [], diagnostics: [] };
  const diag = (d: Diagnostic) => stack.diagnostics.push(d);

  for (const input of files.filter((f) => f.kind === 'compose')) {
    // The environment wins over `.env` beside the compose file, as with `docker compose`.
    const dotenvPath = resolve(dirname(input.absPath), '.env');
    const dotenv = existsSync(dotenvPath) ? (parseEnv(readFileSync(dotenvPath, 'utf8')) as Record<string, string>) : {};
    const env = { ...dotenv, ...options.env };
    const parsed = parseYamlTree(input.text, env);
    const model = readComposeModel(parsed, input.file, input.absPath, env);
    stack.compose.push({ input, env, parsed, plain: toPlain(parsed.root), model });
  }

  // Redis servers in compose files, with their mounted redis.conf.
  const consumed = new Set<string>();
  const redisInputs = new Map(files.filter((f) => f.kind === 'redis').map((f) => [f.absPath, f]));
  for (const compose of stack.compose) {
    const servers: RedisServer[] = [];
    for (const svc of compose.model.services) {
      const args = redisServerArgs(svc);
      if (!args) continue;
      const cmd = svc.command ?? svc.entrypoint;
      const where: Where = { file: compose.input.file, line: cmd?.line ?? svc.line, path: cmd?.path ?? svc.path };
      const parsedArgs = parseRedisArgs(
        wordsToArgs(args),
        compose.input.file,
        (i) => args[i]?.path ?? where.path,
        (i) => args[i]?.line ?? where.line,
      );
      for (const p of parsedArgs.problems)
        diag({ rule: 'redis-conf-invalid', file: compose.input.file, line: p.line, path: p.path, message: `service "${svc.name}": ${p.message}` });
      const server: RedisServer = {
        label: `service "${svc.name}"`,
        where,
        roles: [],
        rolesReason: '',
        directives: [],
        hasExternalConfig: false,
        service: svc,
        compose,
        dropsPrivileges: isOfficialImage(svc.image) && !svc.user,
        officialImage: isOfficialImage(svc.image) && !svc.entrypoint,
      };
      if (parsedArgs.configFile) {
        const confPath = parsedArgs.configFile.value;
        server.confPath = confPath;
        const host = mountedSource(svc, confPath, compose.input.absPath);
        if (host && existsSync(host)) {
          const known = redisInputs.get(host);
          const display = known?.file ?? displayName(host, options.cwd);
          const text = known?.text ?? readFileSync(host, 'utf8');
          consumed.add(host);
          server.confFile = display;
          server.label = `service "${svc.name}" (${display})`;
          const conf = parseRedisConf(text, display);
          for (const p of conf.problems) diag({ rule: 'redis-conf-invalid', file: display, line: p.line, path: p.path, message: p.message });
          server.directives.push(...conf.directives);
        } else {
          server.confUnknown = host
            ? `${confPath} is mounted from ${displayName(host, options.cwd)}, which does not exist here`
            : `${confPath} is not bind-mounted from this project (it lives in the image or a volume)`;
        }
      }
      if (isBitnami(svc.image)) server.directives.push(...bitnamiDirectives(svc, compose.input.file));
      server.directives.push(...parsedArgs.directives);
      server.hasExternalConfig = server.directives.some((d) => d.name === 'include' || d.name === 'aclfile');
      servers.push(server);
    }
    assignRoles(compose, servers);
    stack.redis.push(...servers);
  }

  // A redis.conf no compose file mounts is judged alone.
  for (const input of files.filter((f) => f.kind === 'redis' && !consumed.has(f.absPath))) {
    const conf = parseRedisConf(input.text, input.file);
    for (const p of conf.problems) diag({ rule: 'redis-conf-invalid', file: input.file, line: p.line, path: p.path, message: p.message });
    const roles = rolesFromFileName(input.file);
    stack.redis.push({
      label: input.file,
      where: { file: input.file, line: 1, path: '' },
      roles,
      rolesReason: roles.length === 3 ? 'a redis.conf alone holds every role' : `its file name says ${roles.includes('cache') ? 'cache' : 'queue'}`,
      directives: conf.directives,
      confFile: input.file,
      hasExternalConfig: conf.directives.some((d) => d.name === 'include' || d.name === 'aclfile'),
      dropsPrivileges: false,
      officialImage: false,
    });
  }

  for (const input of files.filter((f) => f.kind === 'supervisord')) stack.supervisor.push(readSupervisor(input, stack, diag));
  return stack;
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
  else if (pw) out.push(mk('requirepass', [{ value: pw.value ?? '', raw: pw.raw, line: pw.line }], 'REDIS_PASSWORD'));
  for (const c of (env.get('REDIS_DISABLE_COMMANDS')?.value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean))
    out.push(mk('rename-command', [{ value: c }, { value: '' }], 'REDIS_DISABLE_COMMANDS'));
  const aof = env.get('REDIS_AOF_ENABLED')?.value ?? 'yes';
  out.push(mk('appendonly', [{ value: aof === 'no' ? 'no' : 'yes' }], 'REDIS_AOF_ENABLED'));
  return out;
}

function readSupervisor(input: InputFile, stack: Stack, diag: (d: Diagnostic) => void): SupervisorInput {
  const ini = parseIni(input.text);
  for (const p of ini.problems) {
    const rule = p.kind === 'parse' ? 'supervisor-parse' : 'supervisor-duplicate';
    diag({ rule, file: input.file, line: p.line, path: p.section ? (p.key ? `${p.section}.${p.key}` : p.section) : '', message: p.message });
  }
  if (!ini.sections.has('supervisord') && !ini.problems.some((p) => p.kind === 'parse')) {
    diag({
      rule: 'supervisor-parse',
      file: input.file,
      line: 1,
      path: 'supervisord',
      message: 'no [supervisord] section: supervisord refuses to start with this file ("missing [supervisord] section")',
    });
  }
  const programs: SupervisorProgram[] = [];
  for (const section of ini.sections.values()) {
    for (const [key, v] of section.keys) {
      const bad = badExpansions(v.value);
      if (bad.length)
        diag({
          rule: 'supervisor-parse',
          file: input.file,
          line: v.line,
          path: `${section.name}.${key}`,
          message: `${key} uses %(${bad.join(')s, %(')})s, which supervisord cannot expand: it refuses to start`,
        });
    }
    const m = /^(program|fcgi-program|eventlistener):(.+)$/.exec(section.name);
    if (!m) continue;
    const get = (k: string) => section.keys.get(k);
    for (const [key, v] of section.keys) {
      if (!PROGRAM_KEYS.has(key))
        diag({
          rule: 'supervisor-unknown-key',
          file: input.file,
          line: v.line,
          path: `${section.name}.${key}`,
          message: `[${section.name}] ${key} is not a supervisord setting (a typo?): supervisord ignores it silently`,
        });
    }
    const command = get('command');
    if (!command)
      diag({
        rule: 'supervisor-parse',
        file: input.file,
        line: section.line,
        path: section.name,
        message: `[${section.name}] has no command: supervisord refuses to start`,
      });
    const numprocsValue = get('numprocs');
    const numprocs = numprocsValue ? Number(numprocsValue.value) : 1;
    if (numprocsValue && !/^\d+$/.test(numprocsValue.value.trim()))
      diag({
        rule: 'supervisor-parse',
        file: input.file,
        line: numprocsValue.line,
        path: `${section.name}.numprocs`,
        message: `numprocs "${numprocsValue.value}" is not an integer`,
      });
    for (const k of ['stopwaitsecs', 'startsecs', 'startretries', 'priority']) {
      const v = get(k);
      if (v && !/^\d+$/.test(v.value.trim()))
        diag({
          rule: 'supervisor-parse',
          file: input.file,
          line: v.line,
          path: `${section.name}.${k}`,
          message: `${k} "${v.value}" is not an integer: supervisord refuses to start`,
        });
    }
    const autorestart = get('autorestart');
    if (autorestart && !/^(true|false|unexpected|yes|no|on|off|1|0)$/i.test(autorestart.value.trim()))
      diag({
        rule: 'supervisor-parse',
        file: input.file,
        line: autorestart.line,
        path: `${section.name}.autorestart`,
        message: `autorestart "${autorestart.value}" must be true, false or unexpected`,
      });
    programs.push({
      name: m[2],
      section,
      file: input.file,
      command,
      info: command
        ? classifyCommandLine(command.value.replace(/%\((program_name|process_num|group_name|host_node_name|numprocs|here)\)[-#0 +]*\d*[sd]/g, 'X'))
        : { kind: 'other', commands: [] },
      numprocs: Number.isFinite(numprocs) ? numprocs : 1,
      numprocsValue,
      get,
    });
  }

  // Which compose services run this supervisord: by `-c` file name, else any that runs supervisord, else every non-Redis service.
  const services: SupervisorInput['services'] = [];
  for (const compose of stack.compose) {
    const redisServices = new Set(stack.redis.filter((r) => r.compose === compose).map((r) => r.service));
    const candidates = compose.model.services.filter((s) => !redisServices.has(s));
    const running = candidates.map((s) => ({ s, info: classifyArgv(serviceArgv(s).map((w) => w.value)) })).filter((x) => x.info.kind === 'supervisord');
    const byName = running.filter((x) => x.info.configFile && basename(x.info.configFile) === basename(input.file));
    const chosen = byName.length ? byName.map((x) => x.s) : running.length ? running.map((x) => x.s) : candidates;
    for (const s of chosen) services.push({ service: s, compose });
  }
  return { input, ini, programs, services };
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
