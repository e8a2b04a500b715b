import { basename, posix } from 'node:path';
import { classifyArgv, classifyCommandLine } from './commands.js';
import type { ComposeService } from './compose.js';
import { serviceArgv } from './redis-servers.js';
import { badExpansions, isFragment, parseIni, PROGRAM_KEYS } from './supervisord.js';
import type { ComposeInput, InputFile, Stack, StackContext, SupervisorInput, SupervisorProgram } from './stack.js';
import type { Diagnostic } from './finding.js';

/*
 * A supervisord file and the compose services that run it (docs/validate.md, "How files are read
 * together"). supervisord settings may be %(ENV_X)s expansions, which supervisord fills in at start: such
 * a value is accepted and left unjudged. A file with only [program:x]/[group:x]/[eventlistener:x]
 * sections is an include fragment (conf.d): it needs no [supervisord] section of its own.
 */

/** A value made only of expansions supervisord fills in at start (`%(ENV_WORKERS)s`): not judged here. */
export function isExpansion(value: string): boolean {
  return /%\([^)]+\)[-#0 +]*\d*[sd]/.test(value);
}

const PROGRAM_EXPANSIONS = /%\((program_name|process_num|group_name|host_node_name|numprocs|here|ENV_[A-Za-z0-9_]+)\)[-#0 +]*\d*[sd]/g;

function checkValues(input: InputFile, section: { name: string; keys: Map<string, { value: string; line: number }> }, diag: (d: Diagnostic) => void): void {
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
}

function readProgram(input: InputFile, section: SupervisorProgram['section'], name: string, diag: (d: Diagnostic) => void): SupervisorProgram {
  const get = (k: string) => section.keys.get(k);
  const at = (k: string, line: number, message: string) => diag({ rule: 'supervisor-parse', file: input.file, line, path: `${section.name}.${k}`, message });
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
  const numprocsText = numprocsValue?.value.trim();
  const numprocsKnown = !numprocsText || /^\d+$/.test(numprocsText);
  if (numprocsText && !numprocsKnown && !isExpansion(numprocsText)) at('numprocs', numprocsValue!.line, `numprocs "${numprocsText}" is not an integer`);
  for (const k of ['stopwaitsecs', 'startsecs', 'startretries', 'priority']) {
    const v = get(k);
    if (v && !/^\d+$/.test(v.value.trim()) && !isExpansion(v.value)) at(k, v.line, `${k} "${v.value}" is not an integer: supervisord refuses to start`);
  }
  const autorestart = get('autorestart');
  if (autorestart && !/^(true|false|unexpected|yes|no|on|off|1|0)$/i.test(autorestart.value.trim()) && !isExpansion(autorestart.value))
    at('autorestart', autorestart.line, `autorestart "${autorestart.value}" must be true, false or unexpected`);
  const numprocs = numprocsText && numprocsKnown ? Number(numprocsText) : 1;
  return {
    name,
    section,
    file: input.file,
    command,
    info: command ? classifyCommandLine(command.value.replace(PROGRAM_EXPANSIONS, 'X')) : { kind: 'other', commands: [] },
    numprocs,
    numprocsUnknown: !numprocsKnown,
    numprocsValue,
    get,
  };
}

export function readSupervisor(input: InputFile, stack: Stack, ctx: StackContext): SupervisorInput {
  const diag = ctx.diag;
  const ini = parseIni(input.text);
  for (const p of ini.problems) {
    const rule = p.kind === 'parse' ? 'supervisor-parse' : 'supervisor-duplicate';
    diag({ rule, file: input.file, line: p.line, path: p.section ? (p.key ? `${p.section}.${p.key}` : p.section) : '', message: p.message });
  }
  const fragment = isFragment(ini);
  // An [include] may bring the [supervisord] section from another file.
  if (!fragment && !ini.sections.has('supervisord') && !ini.sections.has('include') && !ini.problems.some((p) => p.kind === 'parse')) {
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
    checkValues(input, section, diag);
    const m = /^(program|fcgi-program|eventlistener):(.+)$/.exec(section.name);
    if (m) programs.push(readProgram(input, section, m[2], diag));
  }
  const services = placeSupervisor(input, stack);
  if (!services.length && stack.compose.length && programs.length)
    ctx.notChecked({
      where: { file: input.file, line: 1, path: '' },
      message: `${input.file} is run by no service validate can see (no command, entrypoint or readable Dockerfile runs supervisord with it): stop_grace_period against stopwaitsecs and the container's user are not checked`,
      fix: "run supervisord from the service's `command:` (`supervisord -n -c /etc/supervisor/supervisord.conf`), or give compose a `build:` whose Dockerfile COPYs this file",
    });
  return { input, ini, programs, services, fragment };
}

/** What a service runs, with its image's ENTRYPOINT/CMD from a readable Dockerfile where compose does not override them. */
export function effectiveArgv(svc: ComposeService): { argv: string[]; fromDockerfile: boolean } {
  const own = serviceArgv(svc).map((w) => w.value);
  const df = svc.dockerfile;
  if (!df) return { argv: own, fromDockerfile: false };
  const entry = svc.entrypoint ? svc.entrypoint.words.map((w) => w.value) : (df.entrypoint ?? []);
  // A compose entrypoint resets the image's CMD too.
  const cmd = svc.command ? svc.command.words.map((w) => w.value) : svc.entrypoint ? [] : (df.cmd ?? []);
  return { argv: [...entry, ...cmd], fromDockerfile: !svc.entrypoint || !svc.command };
}

/**
 * The compose services whose containers run this supervisord file: those whose command (or image's
 * CMD) runs supervisord with a file of this name, else those whose Dockerfile copies this file in,
 * else those that run supervisord at all. None found: none (the caller says so).
 */
function placeSupervisor(input: InputFile, stack: Stack): SupervisorInput['services'] {
  const name = basename(input.file);
  const out: SupervisorInput['services'] = [];
  for (const compose of stack.compose) {
    const redisServices = new Set(stack.redis.filter((r) => r.compose === compose).map((r) => r.service));
    const candidates = compose.model.services.filter((s) => !redisServices.has(s));
    const running = candidates
      .map((s) => ({ s, info: classifyArgv(effectiveArgv(s).argv) }))
      .filter((x) => x.info.kind === 'supervisord' || copiesFile(x.s, name));
    const byConfigName = running.filter((x) => x.info.configFile && basename(x.info.configFile) === name);
    const byCopy = running.filter((x) => copiesFile(x.s, name) && (x.info.kind === 'supervisord' || !overridesCommand(x.s)));
    const chosen = byConfigName.length ? byConfigName : byCopy.length ? byCopy : running.filter((x) => x.info.kind === 'supervisord');
    for (const { s } of chosen) out.push({ service: s, compose: compose as ComposeInput });
  }
  return out;
}

/** Does the service's Dockerfile COPY/ADD a file of this name (or a folder holding it, e.g. conf.d)? */
function copiesFile(svc: ComposeService, name: string): boolean {
  return !!svc.dockerfile?.copied.some((c) => c.sources.some((src) => posix.basename(src.replace(/\/$/, '')) === name));
}

/** A compose command that runs something other than supervisord replaces the image's CMD. */
function overridesCommand(svc: ComposeService): boolean {
  return !!svc.command && classifyArgv(svc.command.words.map((w) => w.value)).kind !== 'supervisord';
}
