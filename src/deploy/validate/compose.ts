import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseEnv } from 'node:util';
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
}

export interface ComposeFile {
  file: string;
  /** Absolute path, to resolve relative sources. */
  absPath: string;
  services: ComposeService[];
  problems: { line: number; path: string; message: string; kind: 'argv' | 'env-file' }[];
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
          return { value: interp ? interp.value : rawWord, raw: node.raw === undefined ? undefined : rawWord, interp, line: node.line, path: p };
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
}

export function readComposeModel(parsed: ParsedYaml, file: string, absPath: string, env: Record<string, string | undefined>): ComposeFile {
  const result: ComposeFile = { file, absPath, services: [], problems: [] };
  const root = parsed.root;
  if (!root || root.kind !== 'map') return result;
  const topConfigs = new Map<string, string>();
  for (const [name, cfg] of entriesOf(root.entries.get('configs'))) {
    const f = cfg.kind === 'map' ? scalarString(cfg.entries.get('file')) : undefined;
    if (f) topConfigs.set(name, f);
  }
  const services = root.entries.get('services');
  if (!services || services.kind !== 'map') return result;
  const ctx: ReadContext = { file, absPath, env, problems: result.problems, topConfigs };
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

/** env_file first, environment over it (as compose does). */
function readEnvFiles(svc: ComposeService, node: MapNode, ctx: ReadContext): void {
  const envFiles = node.entries.get('env_file');
  const envFileItems = envFiles?.kind === 'seq' ? envFiles.items : envFiles ? [envFiles] : [];
  envFileItems.forEach((item, i) => {
    const f = item.kind === 'map' ? scalarString(item.entries.get('path')) : scalarString(item);
    const required = item.kind === 'map' ? scalarString(item.entries.get('required')) !== 'false' : true;
    if (!f) return;
    const abs = resolve(dirname(ctx.absPath), f);
    const where = { line: item.line, path: servicePath(svc.name, 'env_file', ...(envFiles?.kind === 'seq' ? [i] : [])) };
    if (!existsSync(abs)) {
      if (required) ctx.problems.push({ ...where, message: `env_file ${f} does not exist: compose refuses to start the stack without it`, kind: 'env-file' });
      return;
    }
    for (const [k, v] of Object.entries(parseEnv(readFileSync(abs, 'utf8'))))
      svc.environment.set(k, { value: v, line: where.line, path: where.path, fromEnvFile: f });
  });
}

function readEnvironment(svc: ComposeService, node: MapNode, ctx: ReadContext): void {
  const envNode = node.entries.get('environment');
  if (envNode?.kind === 'map') {
    for (const [k, v] of envNode.entries) {
      const s = v.kind === 'scalar' ? v : undefined;
      svc.environment.set(k, {
        value: s && s.value !== null ? String(s.value) : ctx.env[k],
        raw: s?.raw,
        interp: s?.interp,
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
        line: it.line,
        path: servicePath(svc.name, 'environment', i),
      });
    });
  }
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
