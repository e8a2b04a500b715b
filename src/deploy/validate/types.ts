/** What `rqctl config validate` reports (docs/validate.md). The field names are a contract. */
export type Severity = 'error' | 'warning' | 'info';

export interface Finding {
  rule: string;
  severity: Severity;
  /** The file as the operator named it (relative to the working directory when inside it). */
  file: string;
  /** 1-based line of the offending text, or of the nearest thing that owns it (service, section). */
  line: number;
  /** Where inside the file: `services.redis.ports[0]`, `program:rqctl-worker.stopwaitsecs`, `maxmemory-policy`. */
  path: string;
  message: string;
  fix: string;
}

export interface Summary {
  error: number;
  warning: number;
  info: number;
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
