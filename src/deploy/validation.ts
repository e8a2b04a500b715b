import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';

/**
 * The one seam between deploy and `rqctl config validate` (src/deploy/validate): deploy's first step
 * runs the same rules on the same files, so a deploy never ships what `config validate` rejects.
 */
export type Severity = 'error' | 'warning' | 'info';

export interface Finding {
  rule: string;
  severity: Severity;
  file: string;
  line?: number;
  path?: string;
  message: string;
  fix?: string;
}

export interface ValidationReport {
  findings: Finding[];
  summary: Record<Severity, number>;
}

type ValidateFiles = (paths: string[], options: { cwd: string; env: Record<string, string | undefined> }) => Promise<ValidationReport>;

// The validator is built in parallel with deploy; until it is on this branch, a minimal stand-in
// (YAML parses, files exist) keeps deploy usable. The specifier is a variable so the build does not
// depend on the module being present yet.
const VALIDATOR = './validate/index.js';

export async function validateDeployFiles(paths: string[], options: { cwd: string; env: Record<string, string | undefined> }): Promise<ValidationReport> {
  let validateFiles: ValidateFiles | undefined;
  try {
    validateFiles = ((await import(VALIDATOR)) as { validateFiles?: ValidateFiles }).validateFiles;
  } catch {
    validateFiles = undefined;
  }
  if (validateFiles) return validateFiles(paths, options);
  const findings: Finding[] = [];
  for (const p of paths) {
    let text: string;
    try {
      text = await readFile(p, 'utf8');
    } catch (e) {
      findings.push({ rule: 'file-unreadable', severity: 'error', file: p, message: `cannot read ${p}: ${(e as Error).message}` });
      continue;
    }
    if (/\.ya?ml$/i.test(p)) {
      try {
        parseYaml(text);
      } catch (e) {
        findings.push({ rule: 'compose-schema', severity: 'error', file: p, message: `not valid YAML: ${(e as Error).message.split('\n')[0]}` });
      }
    }
  }
  return { findings, summary: summarize(findings) };
}

export function summarize(findings: Finding[]): Record<Severity, number> {
  const summary: Record<Severity, number> = { error: 0, warning: 0, info: 0 };
  for (const f of findings) summary[f.severity]++;
  return summary;
}
