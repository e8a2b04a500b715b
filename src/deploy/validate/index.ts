import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { usageError } from '../../errors.js';
import { RULES } from './rules/index.js';
import { toFinding } from './rules/types.js';
import { buildStack, displayName, kindOf, type FileKind, type InputFile } from './model.js';
import { summarize, type Diagnostic, type Finding, type Summary } from './finding.js';
import { readSafely } from './read-safe.js';

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
  const tooLarge: Diagnostic[] = [];
  const seen = new Set<string>();
  for (const p of paths) {
    const absPath = resolve(cwd, p);
    if (seen.has(absPath)) continue;
    seen.add(absPath);
    // Named files may lie anywhere, but are read only as regular files of at most 1 MiB (read-safe.ts).
    const read = readSafely(absPath, p);
    if (!read.ok && read.refusal === 'too-large') {
      tooLarge.push({ rule: 'file-too-large', file: displayName(absPath, cwd), line: 1, path: '', message: read.reason });
      continue;
    }
    if (!read.ok)
      throw usageError(
        read.refusal === 'missing' ? `${p}: no such file` : `${p}: ${read.reason}`,
        'name compose, supervisord and redis.conf files, or run `rqctl config validate` without arguments in the project folder',
      );
    const text = read.text;
    const kind = kindOf(absPath, text);
    if (!kind)
      throw usageError(
        `${p}: cannot tell what kind of file this is${/sentinel/i.test(p) ? ' (Sentinel configurations are not checked)' : ''}`,
        'compose files end in .yml/.yaml; supervisord files have "supervisor" in their name; redis.conf files end in .conf and have "redis" in their name; aclfiles end in .acl',
      );
    inputs.push({ file: displayName(absPath, cwd), absPath, kind, text });
  }
  const stack = buildStack(inputs, { cwd, env: options.env ?? {} });
  stack.diagnostics.push(...tooLarge);
  const findings: Finding[] = [];
  const keys = new Set<string>();
  const mask = masker(stack.secrets);
  for (const rule of RULES) {
    for (const h of rule.check(stack)) {
      const f = mask(toFinding(rule, h));
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
 * Replaces every secret value (stack.secrets: passwords, values of secret-looking variables) in a
 * finding's texts by ****, so no output (text, JSON, SARIF uploaded by CI) carries one.
 */
function masker(secrets: Set<string>): (f: Finding) => Finding {
  if (!secrets.size) return (f) => f;
  const escaped = [...secrets].sort((a, b) => b.length - a.length).map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const re = new RegExp(escaped.join('|'), 'g');
  const clean = (t: string) => t.replace(re, '****');
  return (f) => ({ ...f, message: clean(f.message), fix: clean(f.fix), path: clean(f.path) });
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
