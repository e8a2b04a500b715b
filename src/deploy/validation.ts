import { summarize as summarizeFindings, validateFiles } from './validate/index.js';
import type { Finding as ValidateFinding, Severity as ValidateSeverity } from './validate/types.js';

/**
 * The one seam between deploy and `rqctl config validate` (src/deploy/validate): deploy's first step
 * runs the same rules on the same files, so a deploy never ships what `config validate` rejects.
 * Deploy adds findings of its own (a missing supervisord file, an override not judged alone), whose
 * line and path may be unknown.
 */
export type Severity = ValidateSeverity;

export type Finding = Omit<ValidateFinding, 'line' | 'path' | 'fix'> & { line?: number; path?: string; fix?: string };

export interface ValidationReport {
  findings: Finding[];
  summary: Record<Severity, number>;
}

export async function validateDeployFiles(paths: string[], options: { cwd: string; env: Record<string, string | undefined> }): Promise<ValidationReport> {
  const result = await validateFiles(paths, options);
  return { findings: result.findings, summary: result.summary };
}

export function summarize(findings: Finding[]): Record<Severity, number> {
  return summarizeFindings(findings as ValidateFinding[]);
}
