import type { Finding, Severity, Where } from '../finding.js';
import type { Stack } from '../model.js';

/** One rule of the catalogue (docs/validate.md). Ids and severities are contracts. */
export interface Rule {
  id: string;
  severity: Severity;
  /** What it finds, one line (the `config rules` catalogue). */
  description: string;
  /** Why it matters, for the catalogue and SARIF help. */
  rationale?: string;
  check(stack: Stack): RuleHit[];
}

export type RuleHit = Where & { message: string; fix: string };

export function hit(where: Where, message: string, fix: string): RuleHit {
  return { file: where.file, line: where.line, path: where.path, message, fix };
}

export function toFinding(rule: Rule, h: RuleHit): Finding {
  return { rule: rule.id, severity: rule.severity, file: h.file, line: h.line, path: h.path, message: h.message, fix: h.fix };
}

/** The findings a parser left for this rule id. */
export function diagnosticsFor(stack: Stack, id: string, fix: string): RuleHit[] {
  return stack.diagnostics.filter((d) => d.rule === id).map((d) => hit(d, d.message, d.fix ?? fix));
}
