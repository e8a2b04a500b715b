import { basename, dirname, resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ExitCode, RqctlError } from '../../errors.js';

/**
 * The compose command line, as the operator would type it: `docker compose` (the v2 plugin) where it
 * works, else the older standalone `docker-compose` (v1, or a v2 binary installed under that name).
 * rqctl always passes `-f` for every file and `-p` for the project name, so both generations deploy
 * the same project and rqctl finds its containers by the `com.docker.compose.project` label.
 */
export interface ComposeCli {
  /** `docker compose` or `docker-compose`. */
  display: string;
  file: string;
  prefix: string[];
  version: string;
  /** 1 for the Python docker-compose, 2 for the Go plugin or binary. */
  generation: 1 | 2;
}

export interface ComposeInvocation {
  cli: ComposeCli;
  files: string[];
  project: string;
  envFile?: string;
  cwd: string;
  env: Record<string, string>;
}

type Run = typeof import('execa').execa;

async function execa(): Promise<Run> {
  return (await import('execa')).execa;
}

function generationOf(version: string): 1 | 2 {
  return /^v?1\./.test(version) ? 1 : 2;
}

/** Finds the compose command. Neither present: exit 3 with how to install one. */
export async function detectCompose(env: Record<string, string>, cwd: string): Promise<ComposeCli> {
  const run = await execa();
  const tries: { file: string; prefix: string[]; display: string }[] = [
    { file: 'docker', prefix: ['compose'], display: 'docker compose' },
    { file: 'docker-compose', prefix: [], display: 'docker-compose' },
  ];
  for (const t of tries) {
    const r = await run(t.file, [...t.prefix, 'version', '--short'], { env, extendEnv: false, cwd, reject: false, timeout: 20_000, stdin: 'ignore' });
    const version =
      String(r.stdout ?? '')
        .trim()
        .split('\n')[0] ?? '';
    if (r.exitCode === 0 && /^v?\d+\.\d+/.test(version)) return { ...t, version: version.replace(/^v/, ''), generation: generationOf(version) };
  }
  throw new RqctlError('COMPOSE_MISSING', ExitCode.unreachable, 'neither `docker compose` (v2) nor `docker-compose` (v1) is installed on this machine', {
    hint: 'install the compose plugin (apt-get install docker-compose-plugin) or docker-compose',
  });
}

/** Compose's own rule for project names: lowercase letters, digits, `-` and `_`, starting with a letter or digit. */
export function normalizeProjectName(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '')
    .replace(/^[^a-z0-9]+/, '');
}

/**
 * The project name compose would use: `-p` > COMPOSE_PROJECT_NAME > the file's top-level `name:`
 * (compose v2) > the name of the directory of the first compose file.
 */
export function projectNameFor(files: string[], explicit: string | undefined, envName: string | undefined): string {
  // A name given on purpose is used as given or refused: compose would rewrite it (or refuse it
  // itself), and a deploy must not act on a project the operator did not name.
  for (const [given, what] of [
    [explicit, 'project name'],
    [envName, 'COMPOSE_PROJECT_NAME'],
  ] as const) {
    if (given !== undefined && given !== '' && normalizeProjectName(given) !== given) {
      throw new RqctlError('USAGE', ExitCode.usage, `${what} "${given}" is not a valid compose project name`, {
        hint: 'use lowercase letters, digits, - and _, starting with a letter or digit (e.g. shop-prod)',
      });
    }
  }
  if (explicit) return explicit;
  if (envName) return envName;
  try {
    const doc = parseYaml(readFileSync(files[0], 'utf8')) as { name?: unknown } | null;
    if (doc && typeof doc.name === 'string' && !doc.name.includes('$') && normalizeProjectName(doc.name)) return normalizeProjectName(doc.name);
  } catch {
    // An unreadable file is reported by validation; the directory name still names the project.
  }
  return normalizeProjectName(basename(dirname(resolve(files[0])))) || 'default';
}

function baseArgs(inv: ComposeInvocation): string[] {
  const args = [...inv.cli.prefix];
  for (const f of inv.files) args.push('-f', f);
  args.push('-p', inv.project);
  if (inv.envFile) args.push('--env-file', inv.envFile);
  // Plain progress output: these lines go to a CI log, not a terminal.
  if (inv.cli.generation === 2 || /^1\.(2[89]|[3-9]\d)/.test(inv.cli.version)) args.push('--ansi', 'never');
  return args;
}

/** The full command line, for the plan and for messages. */
export function composeCommandLine(inv: Pick<ComposeInvocation, 'files' | 'project' | 'envFile'> & { display: string }, sub: string[]): string {
  const parts = [inv.display];
  for (const f of inv.files) parts.push('-f', f);
  parts.push('-p', inv.project);
  if (inv.envFile) parts.push('--env-file', inv.envFile);
  return [...parts, ...sub].join(' ');
}

export interface ComposeRunResult {
  exitCode: number;
  /** The last lines of output, kept for the failure report. */
  tail: string[];
}

/**
 * Runs one compose subcommand, handing every output line to `onLine` as it comes (compose writes its
 * progress to stderr). Never throws on a non-zero exit: the caller reports the step as failed.
 */
export async function runCompose(inv: ComposeInvocation, sub: string[], onLine: (line: string) => void, timeoutMs?: number): Promise<ComposeRunResult> {
  const run = await execa();
  const tail: string[] = [];
  const keep = (line: string) => {
    tail.push(line);
    if (tail.length > 60) tail.shift();
    onLine(line);
  };
  const child = run(inv.cli.file, [...baseArgs(inv), ...sub], {
    cwd: inv.cwd,
    env: inv.env,
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    buffer: false,
    timeout: timeoutMs,
    stripFinalNewline: false,
  });
  const pump = (stream: NodeJS.ReadableStream | null) =>
    new Promise<void>((resolvePump) => {
      if (!stream) return resolvePump();
      let rest = '';
      stream.on('data', (d: Buffer) => {
        const parts = (rest + d.toString()).split(/\r?\n|\r/);
        rest = parts.pop() ?? '';
        for (const p of parts) if (p.trim() !== '') keep(p);
      });
      stream.on('end', () => {
        if (rest.trim() !== '') keep(rest);
        resolvePump();
      });
      stream.on('error', () => resolvePump());
    });
  const [r] = await Promise.all([child, pump(child.stdout), pump(child.stderr)]);
  if (r.timedOut) keep(`timed out after ${Math.round((timeoutMs ?? 0) / 1000)}s`);
  const failedToStart = (r as { failed?: boolean; exitCode?: number; shortMessage?: string }).exitCode === undefined;
  if (failedToStart) keep((r as { shortMessage?: string }).shortMessage ?? 'compose did not start');
  return { exitCode: r.exitCode ?? 1, tail };
}

/**
 * A service of the merged, interpolated configuration as compose will start it: what verify expects
 * to find running (not the file model of src/deploy/validate/compose.ts, which keeps lines and raw text).
 */
export interface MergedService {
  name: string;
  /** The command as compose will run it, or undefined when the image's CMD is used. */
  command?: string;
  hasHealthcheck: boolean;
  /** Replicas compose starts (`deploy.replicas`/`scale`), 1 by default. */
  replicas: number;
  /** Host files and folders bind-mounted into it (absolute host paths, as `compose config` resolves them). */
  binds: { source: string; target: string }[];
}

/** Bind mounts from `compose config`: long syntax (v2) or `source:target[:mode]` strings (v1). */
function bindsOf(volumes: unknown): MergedService['binds'] {
  if (!Array.isArray(volumes)) return [];
  const out: MergedService['binds'] = [];
  for (const v of volumes) {
    if (typeof v === 'string') {
      const [source, target] = v.split(':');
      if (target && (source.startsWith('/') || source.startsWith('.'))) out.push({ source, target });
    } else if (v && typeof v === 'object') {
      const o = v as { type?: unknown; source?: unknown; target?: unknown };
      if (o.type === 'bind' && typeof o.source === 'string' && typeof o.target === 'string') out.push({ source: o.source, target: o.target });
    }
  }
  return out;
}

/** The services of the merged, interpolated configuration (`compose config`). */
export async function mergedServices(inv: ComposeInvocation): Promise<MergedService[]> {
  const run = await execa();
  const r = await run(inv.cli.file, [...baseArgs(inv), 'config'], {
    cwd: inv.cwd,
    env: inv.env,
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    timeout: 60_000,
  });
  if (r.exitCode !== 0) {
    const msg =
      String(r.stderr ?? '')
        .trim()
        .split('\n')
        .filter(Boolean)
        .slice(-3)
        .join(' ') || `exit code ${r.exitCode}`;
    throw new RqctlError('COMPOSE_CONFIG', ExitCode.checkFailed, `${inv.cli.display} refused the compose configuration: ${msg}`, {
      hint: 'run `docker compose config` with the same files to see the problem',
    });
  }
  return parseMergedServices(String(r.stdout), {
    generation: inv.cli.generation,
    activeProfiles: (inv.env.COMPOSE_PROFILES ?? '').split(',').filter(Boolean),
  });
}

export function parseMergedServices(yamlText: string, options: { generation?: 1 | 2; activeProfiles?: string[] } = {}): MergedService[] {
  const activeProfiles = options.activeProfiles ?? [];
  const doc = parseYaml(yamlText) as { services?: Record<string, Record<string, unknown>> } | null;
  const services: MergedService[] = [];
  for (const [name, svc] of Object.entries(doc?.services ?? {})) {
    if (!svc || typeof svc !== 'object') continue;
    const profiles = Array.isArray(svc.profiles) ? (svc.profiles as string[]) : [];
    if (profiles.length && !profiles.some((p) => activeProfiles.includes(p))) continue;
    // docker-compose v1 ignores deploy.replicas (outside --compatibility): it starts `scale` or one.
    const deploy = (svc.deploy ?? {}) as { replicas?: unknown };
    const replicas = Number((options.generation === 1 ? undefined : deploy.replicas) ?? svc.scale ?? 1);
    const cmd = svc.command;
    const command = Array.isArray(cmd) ? cmd.map(String).join(' ') : typeof cmd === 'string' ? cmd : undefined;
    const hc = svc.healthcheck as { disable?: boolean; test?: unknown } | undefined;
    const hasHealthcheck = !!hc && hc.disable !== true && !(Array.isArray(hc.test) && hc.test[0] === 'NONE');
    services.push({ name, command, hasHealthcheck, replicas: Number.isFinite(replicas) ? replicas : 1, binds: bindsOf(svc.volumes) });
  }
  return services;
}
