import { dirname, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { readSafely } from './read-safe.js';
import type { DockerfileInfo } from './dockerfile.js';
import { formatPath, scalarString, type MapNode, type ParsedYaml, type TreeNode } from './yaml-tree.js';
import { splitWords, ShellSyntaxError } from './shell-words.js';
import { composeSeconds, dockerBytes } from './units.js';
import { interpolate, type Interpolated } from './interpolate.js';

/** One word of a command line, with what was written and where. */
export interface Word {
  value: string;
  raw?: string;
  line: number;
  /** `services.redis.command[2]` (list form) or `services.redis.command` (string form). */
  path: string;
  interp?: Interpolated;
  /** Why the value is not known here (an unset variable): empty text stands in for it. */
  unknown?: string;
}

export interface Argv {
  words: Word[];
  form: 'string' | 'list';
  line: number;
  path: string;
}

export interface EnvValue {
  value: string | undefined;
  raw?: string;
  line: number;
  path: string;
  interp?: Interpolated;
  /** Came from an env_file, not the compose file itself. */
  fromEnvFile?: string;
  /** Why the value is not known here (an unset variable, a variable passed through from the deploy shell). */
  unknown?: string;
}

/** A value compose reads with its place: `container_name`, a replica count, a service named by another. */
export interface Placed<T> {
  value: T;
  line: number;
  path: string;
}

export interface PortSpec {
  hostIp?: string;
  published?: string;
  target: string;
  line: number;
  path: string;
  text: string;
}

export interface VolumeSpec {
  type: 'bind' | 'volume' | 'tmpfs' | 'other';
  source?: string;
  target: string;
  line: number;
  path: string;
}

export interface ComposeService {
  name: string;
  file: string;
  line: number;
  path: string;
  node: MapNode;
  image?: string;
  command?: Argv;
  entrypoint?: Argv;
  environment: Map<string, EnvValue>;
  ports: PortSpec[];
  volumes: VolumeSpec[];
  memLimit?: { bytes?: number; text: string; line: number; path: string };
  stopGracePeriod?: { seconds?: number; text: string; line: number; path: string };
  securityOpt: string[];
  capDrop: string[];
  readOnly: boolean;
  user?: string;
  networkMode?: string;
  /** Names other services reach it by: service name, container_name, hostname, network aliases. */
  hostnames: string[];
  healthcheck?: Argv & { kind: 'CMD' | 'CMD-SHELL' | 'NONE' | 'string' };
  build?: { context: string; dockerfile: string };
  /** Compose `configs:` mounted into the service: target path → source file. */
  configFiles: { target: string; source: string; line: number; path: string }[];
  /**
   * Set when an env_file could not be read here (missing, outside the project, too large): the
   * container's environment may hold variables validate does not see.
   */
  envUnknown?: string;
  containerName?: Placed<string>;
  /** `deploy.replicas` or `scale`. */
  replicas?: Placed<number>;
  /** Services this one names: depends_on, links, volumes_from, network_mode: service:x. */
  references: (Placed<string> & { via: string })[];
  /** `extends:` another service (maybe in another file): what it inherits is not seen. */
  extendsOther: boolean;
  /** Its build's Dockerfile, when validate could read it (set by the model, read-safe.ts). */
  dockerfile?: DockerfileInfo;
}

export interface ComposeFile {
  file: string;
  /** Absolute path, to resolve relative sources. */
  absPath: string;
  services: ComposeService[];
  problems: { line: number; path: string; message: string; kind: 'argv' | 'env-file' | 'not-read' }[];
  /** A top-level `include:`: services may come from other files. */
  includesOthers: boolean;
}

/** Why a value built from these variables is not known here, or undefined when it is. */
export function unknownFrom(interp: Interpolated | undefined): string | undefined {
  const names = [...new Set(interp?.unset ?? [])];
  if (!names.length) return undefined;
  return `${names.join(', ')} ${names.length === 1 ? 'is' : 'are'} not set here`;
}

function entriesOf(node: TreeNode | undefined): [string, TreeNode][] {
  return node?.kind === 'map' ? [...node.entries] : [];
}

function argvOf(node: TreeNode | undefined, path: string[], problems: ComposeFile['problems'], env: Record<string, string | undefined>): Argv | undefined {
  if (!node) return undefined;
  const p = formatPath(path);
  if (node.kind === 'seq') {
    return {
      form: 'list',
      line: node.line,
      path: p,
      words: node.items.map((it, i) => ({
        value: it.kind === 'scalar' && it.value !== null ? String(it.value) : '',
        raw: it.kind === 'scalar' ? it.raw : undefined,
        interp: it.kind === 'scalar' ? it.interp : undefined,
        unknown: it.kind === 'scalar' ? unknownFrom(it.interp) : undefined,
        line: it.line,
        path: formatPath([...path, String(i)]),
      })),
    };
  }
  if (node.kind === 'scalar' && node.value !== null) {
    // Split what was written, then interpolate each word, so every word keeps its own raw text.
    const raw = node.raw ?? String(node.value);
    try {
      // `${VAR:?a message with spaces}` is one piece of text to compose (it interpolates before it splits).
      const refs: string[] = [];
      const masked = raw.replace(/\$\$|\$\{(?:[^{}]|\{[^{}]*\})*\}/g, (m) => (m === '$$' ? m : `\u0001${refs.push(m) - 1}\u0001`));
      const rawWords = splitWords(masked);
      return {
        form: 'string',
        line: node.line,
        path: p,
        words: rawWords.map((w) => {
          const rawWord = w.replace(/\u0001(\d+)\u0001/g, (_m, i: string) => refs[Number(i)]);
          const interp = node.raw === undefined ? undefined : interpolate(rawWord, env);
          return {
            value: interp ? interp.value : rawWord,
            raw: node.raw === undefined ? undefined : rawWord,
            interp,
            unknown: unknownFrom(interp),
            line: node.line,
            path: p,
          };
        }),
      };
    } catch (e) {
      if (e instanceof ShellSyntaxError) problems.push({ line: node.line, path: p, message: e.message, kind: 'argv' });
      return { form: 'string', line: node.line, path: p, words: [] };
    }
  }
  return undefined;
}

/** What reading one compose file needs besides the node being read. */
interface ReadContext {
  file: string;
  absPath: string;
  env: Record<string, string | undefined>;
  problems: ComposeFile['problems'];
  /** Top-level `configs:` with a file: name → source path. */
  topConfigs: Map<string, string>;
  /** Folders files the compose file names may be read from (read-safe.ts). */
  roots: string[];
}

export function readComposeModel(parsed: ParsedYaml, file: string, absPath: string, env: Record<string, string | undefined>, roots: string[]): ComposeFile {
  const result: ComposeFile = { file, absPath, services: [], problems: [], includesOthers: false };
  const root = parsed.root;
  if (!root || root.kind !== 'map') return result;
  result.includesOthers = root.entries.has('include');
  const topConfigs = new Map<string, string>();
  for (const [name, cfg] of entriesOf(root.entries.get('configs'))) {
    const f = cfg.kind === 'map' ? scalarString(cfg.entries.get('file')) : undefined;
    if (f) topConfigs.set(name, f);
  }
  const services = root.entries.get('services');
  if (!services || services.kind !== 'map') return result;
  const ctx: ReadContext = { file, absPath, env, problems: result.problems, topConfigs, roots };
  for (const [name, node] of services.entries) {
    if (node.kind !== 'map') continue;
    result.services.push(readService(name, node, services.keyLines.get(name) ?? node.line, ctx));
  }
  return result;
}

/** `services.NAME.rest…` as a finding path. */
function servicePath(name: string, ...rest: (string | number)[]): string {
  return formatPath(['services', name, ...rest.map(String)]);
}

function readService(name: string, node: MapNode, line: number, ctx: ReadContext): ComposeService {
  const base = ['services', name];
  const svc: ComposeService = {
    name,
    file: ctx.file,
    line,
    path: servicePath(name),
    node,
    image: scalarString(node.entries.get('image')),
    command: argvOf(node.entries.get('command'), [...base, 'command'], ctx.problems, ctx.env),
    entrypoint: argvOf(node.entries.get('entrypoint'), [...base, 'entrypoint'], ctx.problems, ctx.env),
    environment: new Map(),
    ports: [],
    volumes: [],
    securityOpt: [],
    capDrop: [],
    readOnly:
      node.entries.get('read_only')?.kind === 'scalar' &&
      ['true', 'yes'].includes(String((node.entries.get('read_only') as { value: unknown }).value).toLowerCase()),
    user: scalarString(node.entries.get('user')),
    networkMode: scalarString(node.entries.get('network_mode')),
    hostnames: [name],
    configFiles: [],
    references: [],
    extendsOther: node.entries.has('extends'),
  };
  readHostnames(svc, node);
  readEnvFiles(svc, node, ctx);
  readEnvironment(svc, node, ctx);
  readPorts(svc, node);
  readVolumes(svc, node);
  readConfigFiles(svc, node, ctx);
  readLimits(svc, node);
  readHardening(svc, node);
  readHealthcheck(svc, node, ctx);
  readBuild(svc, node);
  readConsistency(svc, node);
  return svc;
}

/** Names other services reach it by, besides its own: container_name, hostname, network aliases. */
function readHostnames(svc: ComposeService, node: MapNode): void {
  for (const k of ['container_name', 'hostname']) {
    const h = scalarString(node.entries.get(k));
    if (h) svc.hostnames.push(h);
  }
  for (const [, net] of entriesOf(node.entries.get('networks'))) {
    const aliases = net.kind === 'map' ? net.entries.get('aliases') : undefined;
    if (aliases?.kind === 'seq') for (const a of aliases.items) if (scalarString(a)) svc.hostnames.push(scalarString(a)!);
  }
}

/** env_file first, environment over it (as compose does); only files validate may read (read-safe.ts). */
function readEnvFiles(svc: ComposeService, node: MapNode, ctx: ReadContext): void {
  const envFiles = node.entries.get('env_file');
  const envFileItems = envFiles?.kind === 'seq' ? envFiles.items : envFiles ? [envFiles] : [];
  envFileItems.forEach((item, i) => {
    const f = item.kind === 'map' ? scalarString(item.entries.get('path')) : scalarString(item);
    const required = item.kind === 'map' ? scalarString(item.entries.get('required')) !== 'false' : true;
    if (!f) return;
    const where = { line: item.line, path: servicePath(svc.name, 'env_file', ...(envFiles?.kind === 'seq' ? [i] : [])) };
    const read = readSafely(resolve(dirname(ctx.absPath), f), `env_file ${f}`, ctx.roots);
    if (!read.ok) {
      if (read.refusal === 'missing') {
        if (required) ctx.problems.push({ ...where, message: `env_file ${f} does not exist: compose refuses to start the stack without it`, kind: 'env-file' });
        if (required) svc.envUnknown = `its env_file ${f} does not exist here`;
      } else {
        ctx.problems.push({ ...where, message: read.reason, kind: 'not-read' });
        svc.envUnknown = `its env_file ${f} was not read`;
      }
      return;
    }
    for (const [k, v] of Object.entries(parseEnv(read.text))) svc.environment.set(k, { value: v, line: where.line, path: where.path, fromEnvFile: f });
  });
}

function readEnvironment(svc: ComposeService, node: MapNode, ctx: ReadContext): void {
  const envNode = node.entries.get('environment');
  if (envNode?.kind === 'map') {
    for (const [k, v] of envNode.entries) {
      const s = v.kind === 'scalar' ? v : undefined;
      const passed = !s || s.value === null;
      svc.environment.set(k, {
        value: !passed ? String(s.value) : ctx.env[k],
        raw: s?.raw,
        interp: s?.interp,
        unknown: passed ? passedThrough(k, ctx) : unknownFrom(s?.interp),
        line: envNode.keyLines.get(k) ?? v.line,
        path: servicePath(svc.name, 'environment', k),
      });
    }
  } else if (envNode?.kind === 'seq') {
    envNode.items.forEach((it, i) => {
      if (it.kind !== 'scalar' || it.value === null) return;
      const text = String(it.value);
      const eq = text.indexOf('=');
      const k = eq < 0 ? text : text.slice(0, eq);
      const rawEq = it.raw?.indexOf('=') ?? -1;
      svc.environment.set(k, {
        value: eq < 0 ? ctx.env[k] : text.slice(eq + 1),
        raw: it.raw !== undefined && rawEq >= 0 ? it.raw.slice(rawEq + 1) : undefined,
        interp: it.interp,
        unknown: eq < 0 ? passedThrough(k, ctx) : unknownFrom(it.interp),
        line: it.line,
        path: servicePath(svc.name, 'environment', i),
      });
    });
  }
}

/** `environment: [KEY]` / `KEY:` with no value passes KEY from the shell that runs compose. */
function passedThrough(k: string, ctx: ReadContext): string | undefined {
  return ctx.env[k] === undefined ? `${k} is passed through from the shell that runs compose, and is not set here` : undefined;
}

function readPorts(svc: ComposeService, node: MapNode): void {
  const ports = node.entries.get('ports');
  if (ports?.kind !== 'seq') return;
  ports.items.forEach((it, i) => {
    const where = { line: it.line, path: servicePath(svc.name, 'ports', i) };
    if (it.kind === 'scalar' && it.value !== null) {
      const spec = parsePort(String(it.value));
      if (spec) svc.ports.push({ ...spec, ...where, text: String(it.value) });
    } else if (it.kind === 'map') {
      const target = scalarString(it.entries.get('target'));
      if (target) {
        svc.ports.push({
          target,
          published: scalarString(it.entries.get('published')),
          hostIp: scalarString(it.entries.get('host_ip')),
          ...where,
          text: `${scalarString(it.entries.get('host_ip')) ?? ''}${scalarString(it.entries.get('host_ip')) ? ':' : ''}${scalarString(it.entries.get('published')) ?? ''}:${target}`,
        });
      }
    }
  });
}

function readVolumes(svc: ComposeService, node: MapNode): void {
  const volumes = node.entries.get('volumes');
  if (volumes?.kind !== 'seq') return;
  volumes.items.forEach((it, i) => {
    const where = { line: it.line, path: servicePath(svc.name, 'volumes', i) };
    if (it.kind === 'scalar' && it.value !== null) {
      const parts = String(it.value).split(':');
      if (parts.length === 1) svc.volumes.push({ type: 'volume', target: parts[0], ...where });
      else {
        const source = parts[0];
        const isPath = /^[./~]/.test(source) || source.startsWith('$');
        svc.volumes.push({ type: isPath ? 'bind' : 'volume', source, target: parts[1], ...where });
      }
    } else if (it.kind === 'map') {
      const type = scalarString(it.entries.get('type')) ?? 'volume';
      const target = scalarString(it.entries.get('target')) ?? '';
      svc.volumes.push({
        type: type === 'bind' || type === 'volume' || type === 'tmpfs' ? type : 'other',
        source: scalarString(it.entries.get('source')),
        target,
        ...where,
      });
    }
  });
}

/** Compose `configs:` mounted into the service that name a top-level config with a file. */
function readConfigFiles(svc: ComposeService, node: MapNode, ctx: ReadContext): void {
  const cfgs = node.entries.get('configs');
  if (cfgs?.kind !== 'seq') return;
  cfgs.items.forEach((it, i) => {
    const where = { line: it.line, path: servicePath(svc.name, 'configs', i) };
    const sourceName = it.kind === 'map' ? scalarString(it.entries.get('source')) : scalarString(it);
    if (!sourceName || !ctx.topConfigs.has(sourceName)) return;
    const target = (it.kind === 'map' ? scalarString(it.entries.get('target')) : undefined) ?? `/${sourceName}`;
    svc.configFiles.push({ target, source: ctx.topConfigs.get(sourceName)!, ...where });
  });
}

/** The memory limit (`deploy.resources.limits.memory`, else `mem_limit`) and `stop_grace_period`. */
function readLimits(svc: ComposeService, node: MapNode): void {
  const limit = node.entries.get('deploy')?.kind === 'map' ? ['deploy', 'resources', 'limits', 'memory'] : undefined;
  const limitNode = limit ? resolveNode(node, limit) : undefined;
  if (limitNode?.kind === 'scalar' && limitNode.value !== null) {
    svc.memLimit = { bytes: dockerBytes(limitNode.value), text: String(limitNode.value), line: limitNode.line, path: servicePath(svc.name, ...limit!) };
  } else {
    const ml = node.entries.get('mem_limit');
    if (ml?.kind === 'scalar' && ml.value !== null)
      svc.memLimit = { bytes: dockerBytes(ml.value), text: String(ml.value), line: ml.line, path: servicePath(svc.name, 'mem_limit') };
  }
  const sgp = node.entries.get('stop_grace_period');
  if (sgp?.kind === 'scalar' && sgp.value !== null)
    svc.stopGracePeriod = { seconds: composeSeconds(sgp.value), text: String(sgp.value), line: sgp.line, path: servicePath(svc.name, 'stop_grace_period') };
}

function readHardening(svc: ComposeService, node: MapNode): void {
  const so = node.entries.get('security_opt');
  if (so?.kind === 'seq') for (const it of so.items) if (scalarString(it)) svc.securityOpt.push(scalarString(it)!);
  const cd = node.entries.get('cap_drop');
  if (cd?.kind === 'seq') for (const it of cd.items) if (scalarString(it)) svc.capDrop.push(scalarString(it)!.toUpperCase());
}

function readHealthcheck(svc: ComposeService, node: MapNode, ctx: ReadContext): void {
  const hc = node.entries.get('healthcheck');
  const test = hc?.kind === 'map' ? hc.entries.get('test') : undefined;
  if (!test) return;
  const argv = argvOf(test, ['services', svc.name, 'healthcheck', 'test'], ctx.problems, ctx.env);
  if (!argv) return;
  const first = argv.form === 'list' ? argv.words[0]?.value : undefined;
  const kind = first === 'CMD' || first === 'CMD-SHELL' || first === 'NONE' ? first : 'string';
  svc.healthcheck = { ...argv, kind, words: kind === 'string' ? argv.words : argv.words.slice(1) };
}

function readBuild(svc: ComposeService, node: MapNode): void {
  const build = node.entries.get('build');
  if (!build) return;
  const context = build.kind === 'map' ? (scalarString(build.entries.get('context')) ?? '.') : (scalarString(build) ?? '.');
  const dockerfile = build.kind === 'map' ? (scalarString(build.entries.get('dockerfile')) ?? 'Dockerfile') : 'Dockerfile';
  svc.build = { context, dockerfile };
}

/** What compose's own consistency checks look at: container_name, replicas, and the services this one names. */
function readConsistency(svc: ComposeService, node: MapNode): void {
  const cn = node.entries.get('container_name');
  if (scalarString(cn)) svc.containerName = { value: scalarString(cn)!, line: cn!.line, path: servicePath(svc.name, 'container_name') };
  const replicas = resolveNode(node, ['deploy', 'replicas']);
  const scale = node.entries.get('scale');
  const count = replicas ?? scale;
  const n = Number(scalarString(count));
  if (count && Number.isInteger(n))
    svc.replicas = { value: n, line: count.line, path: servicePath(svc.name, ...(replicas ? ['deploy', 'replicas'] : ['scale'])) };
  const dependsOn = node.entries.get('depends_on');
  if (dependsOn?.kind === 'seq')
    dependsOn.items.forEach((it, i) => {
      if (scalarString(it)) svc.references.push({ value: scalarString(it)!, line: it.line, path: servicePath(svc.name, 'depends_on', i), via: 'depends_on' });
    });
  else if (dependsOn?.kind === 'map')
    for (const [name, v] of dependsOn.entries) {
      // `required: false` lets compose start without that service.
      if (v.kind === 'map' && scalarString(v.entries.get('required')) === 'false') continue;
      svc.references.push({ value: name, line: dependsOn.keyLines.get(name) ?? v.line, path: servicePath(svc.name, 'depends_on', name), via: 'depends_on' });
    }
  const links = node.entries.get('links');
  if (links?.kind === 'seq')
    links.items.forEach((it, i) => {
      const name = scalarString(it)?.split(':')[0];
      if (name) svc.references.push({ value: name, line: it.line, path: servicePath(svc.name, 'links', i), via: 'links' });
    });
  const volumesFrom = node.entries.get('volumes_from');
  if (volumesFrom?.kind === 'seq')
    volumesFrom.items.forEach((it, i) => {
      const text = scalarString(it);
      // `container:name` names a container, not a service.
      if (text && !text.startsWith('container:'))
        svc.references.push({ value: text.split(':')[0], line: it.line, path: servicePath(svc.name, 'volumes_from', i), via: 'volumes_from' });
    });
  const nm = /^service:(.+)$/.exec(svc.networkMode ?? '');
  if (nm) svc.references.push({ value: nm[1], line: node.entries.get('network_mode')!.line, path: servicePath(svc.name, 'network_mode'), via: 'network_mode' });
}

function resolveNode(node: TreeNode, path: string[]): TreeNode | undefined {
  let n: TreeNode | undefined = node;
  for (const k of path) n = n?.kind === 'map' ? n.entries.get(k) : undefined;
  return n;
}

/** `[HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]`, IPv6 host addresses in brackets. */
export function parsePort(text: string): Omit<PortSpec, 'line' | 'path' | 'text'> | undefined {
  let rest = text.trim().replace(/\/(tcp|udp|sctp)$/i, '');
  let hostIp: string | undefined;
  const v6 = /^\[([^\]]*)\]:(.*)$/.exec(rest);
  if (v6) {
    hostIp = v6[1];
    rest = v6[2];
  }
  const parts = rest.split(':');
  if (parts.length === 1) return { hostIp, target: parts[0] };
  if (parts.length === 2) return hostIp !== undefined ? { hostIp, published: parts[0], target: parts[1] } : { published: parts[0], target: parts[1] };
  if (parts.length === 3) return { hostIp: parts[0], published: parts[1], target: parts[2] };
  // An IPv6 address without brackets: everything before the last two parts.
  return { hostIp: parts.slice(0, -2).join(':'), published: parts[parts.length - 2], target: parts[parts.length - 1] };
}
