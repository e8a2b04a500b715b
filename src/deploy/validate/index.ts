import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { usageError } from '../../errors.js';
import { RULES } from './rules/index.js';
import { toFinding } from './rules/types.js';
import { buildStack, displayName, kindOf, type FileKind, type InputFile } from './model.js';
import { summarize, type Finding, type Summary } from './finding.js';

export interface ValidateOptions {
  /** Relative paths resolve here; findings name files relative to it. Default: process.cwd(). */
  cwd?: string;
  /** Variables for compose interpolation (the caller's environment); `.env` beside a compose file fills in the rest. */
  env?: Record<string, string | undefined>;
}

export interface ValidateResult {
  findings: Finding[];
  summary: Summary;
  /** The files read, with their kind. */
  files: { file: string; kind: FileKind }[];
}

const SEVERITY_ORDER = { error: 0, warning: 1, info: 2 } as const;

/**
 * Lints deployment files read together (docs/validate.md): compose files, supervisord files and redis.conf
 * files. Throws a usage error (exit 2) for a missing file or one whose kind cannot be told.
 */
export async function validateFiles(paths: string[], options: ValidateOptions = {}): Promise<ValidateResult> {
  const cwd = options.cwd ?? process.cwd();
  const inputs: InputFile[] = [];
  const seen = new Set<string>();
  for (const p of paths) {
    const absPath = resolve(cwd, p);
    if (seen.has(absPath)) continue;
    seen.add(absPath);
    if (!existsSync(absPath) || !statSync(absPath).isFile())
      throw usageError(
        `${p}: no such file`,
        'name compose, supervisord and redis.conf files, or run `rqctl config validate` without arguments in the project folder',
      );
    const text = readFileSync(absPath, 'utf8');
    const kind = kindOf(absPath, text);
    if (!kind)
      throw usageError(
        `${p}: cannot tell what kind of file this is${/sentinel/i.test(p) ? ' (Sentinel configurations are not checked)' : ''}`,
        'compose files end in .yml/.yaml; supervisord files have "supervisor" in their name; redis.conf files end in .conf and have "redis" in their name; aclfiles end in .acl',
      );
    inputs.push({ file: displayName(absPath, cwd), absPath, kind, text });
  }
  const stack = buildStack(inputs, { cwd, env: options.env ?? {} });
  const findings: Finding[] = [];
  const keys = new Set<string>();
  for (const rule of RULES) {
    for (const h of rule.check(stack)) {
      const f = toFinding(rule, h);
      const key = `${f.rule}\u0000${f.file}\u0000${f.line}\u0000${f.message}`;
      if (keys.has(key)) continue;
      keys.add(key);
      findings.push(f);
    }
  }
  const order = new Map(inputs.map((f, i) => [f.file, i]));
  findings.sort(
    (a, b) =>
      (order.get(a.file) ?? 99) - (order.get(b.file) ?? 99) ||
      a.file.localeCompare(b.file) ||
      a.line - b.line ||
      SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity],
  );
  return { findings, summary: summarize(findings), files: inputs.map((f) => ({ file: f.file, kind: f.kind })) };
}

/**
 * `rqctl config validate`: the files named, else the project folder's deployment files
 * (discoverFiles). None at all is a usage error (exit 2).
 */
export async function validateProject(paths: string[], options: ValidateOptions & { cwd: string }): Promise<ValidateResult> {
  const files = paths.length ? paths : discoverFiles(options.cwd);
  if (!files.length)
    throw usageError(
      'no deployment files here (docker-compose.prod.yml, docker-compose.yml, compose.yaml, supervisord*.conf, *redis*.conf, also in docker/)',
      'name the files, or write them with `rqctl config generate`',
    );
  return validateFiles(files, options);
}

const COMPOSE_NAMES = ['docker-compose.prod.yml', 'docker-compose.prod.yaml', 'docker-compose.yml', 'docker-compose.yaml', 'compose.yaml', 'compose.yml'];
const SEARCH_DIRS = ['.', 'docker', '.docker'];

/**
 * The deployment files of a project folder when none are named: the first compose file of
 * docker-compose.prod.yml / docker-compose.yml / compose.yaml, every supervisord*.conf and every
 * *redis*.conf in the folder, docker/ and .docker/ (the old stack kept its supervisord file there).
 */
export function discoverFiles(cwd: string): string[] {
  const found: string[] = [];
  const compose = COMPOSE_NAMES.find((n) => existsSync(join(cwd, n)));
  if (compose) found.push(compose);
  for (const dir of SEARCH_DIRS) {
    const abs = resolve(cwd, dir);
    if (!existsSync(abs) || !statSync(abs).isDirectory()) continue;
    for (const name of readdirSync(abs).sort()) {
      const lower = name.toLowerCase();
      // aclfiles (`rqctl config acl` writes them into docker/): judged by the acl-* rules.
      if (lower.endsWith('.acl')) {
        found.push(dir === '.' ? name : `${dir}/${name}`);
        continue;
      }
      if (!lower.endsWith('.conf')) continue;
      if (lower.startsWith('supervisord') || (lower.includes('redis') && !lower.startsWith('supervisor') && !lower.includes('sentinel')))
        found.push(dir === '.' ? name : `${dir}/${name}`);
    }
  }
  return found;
}
