/**
 * What `rqctl config validate` reports (docs/validate.md), and deploy's first step with it. The field
 * names are a contract.
 */
export type Severity = 'error' | 'warning' | 'info';

export interface Finding {
  rule: string;
  severity: Severity;
  /** The file as the operator named it (relative to the working directory when inside it). */
  file: string;
  /**
   * 1-based line of the offending text, or of the nearest thing that owns it (service, section); 0
   * for the file as a whole when no line can be named (deploy: a file that does not exist).
   */
  line: number;
  /** Where inside the file: `services.redis.ports[0]`, `program:rqctl-worker.stopwaitsecs`, `maxmemory-policy`. */
  path: string;
  message: string;
  fix: string;
}

export type Summary = Record<Severity, number>;

export function summarize(findings: readonly Finding[]): Summary {
  const s: Summary = { error: 0, warning: 0, info: 0 };
  for (const f of findings) s[f.severity]++;
  return s;
}

/** A place in a file: every parsed value remembers one so findings can point at it. */
export interface Where {
  file: string;
  line: number;
  path: string;
}

/** A finding a parser produces while reading a file; the rule with that id reports it. */
export interface Diagnostic extends Where {
  rule: string;
  message: string;
  fix?: string;
}
