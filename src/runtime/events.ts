/**
 * What long-running processes report. The runtime never prints: it calls the `log` callback it was
 * given with plain objects, and the CLI renders them (src/cli/render.ts `eventLogger`: readable lines
 * on a terminal, one JSON object per line otherwise). The shape matches the CLI's LogEvent.
 */
export interface RuntimeEvent {
  level?: 'info' | 'warn' | 'error' | 'debug';
  /** A short stable name scripts can filter on: `processing`, `processed`, `failed`, `stopping`… */
  event: string;
  msg?: string;
  [field: string]: unknown;
}

export type EventLog = (e: RuntimeEvent) => void;
