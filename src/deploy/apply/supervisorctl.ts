import type { DeclaredProgram } from '../validate/supervisord.js';

/**
 * supervisord inside the app container, as deploy's verify step sees it: which configuration its
 * command line names, and what `supervisorctl status` says about the rqctl programs the supervisord
 * file declares (read by src/deploy/validate/supervisord.ts).
 */

/** The rqctl programs of interest: every `rqctl-worker*`, `rqctl-scheduler*` and `rqctl-dashboard*`. */
export function isRqctlProgram(name: string): boolean {
  return name.startsWith('rqctl-worker') || name.startsWith('rqctl-scheduler') || name.startsWith('rqctl-dashboard');
}

export type ProcessState = 'RUNNING' | 'STARTING' | 'BACKOFF' | 'STOPPING' | 'STOPPED' | 'EXITED' | 'FATAL' | 'UNKNOWN';

export interface SupervisedProcess {
  /** `group:process` as supervisorctl prints it (or just `process`). */
  name: string;
  /** The program (group) the process belongs to. */
  program: string;
  state: ProcessState | string;
  description: string;
}

/** Parses `supervisorctl status` output (one process per line: name, state, description). */
export function parseSupervisorStatus(text: string): SupervisedProcess[] {
  const out: SupervisedProcess[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = /^(\S+)\s+(RUNNING|STARTING|BACKOFF|STOPPING|STOPPED|EXITED|FATAL|UNKNOWN)\b\s*(.*)$/.exec(line.trim());
    if (!m) continue;
    const [, name, state, description] = m;
    const program = name.includes(':') ? name.slice(0, name.indexOf(':')) : name.replace(/_\d+$/, '');
    out.push({ name, program, state, description: description.trim() });
  }
  return out;
}

/** States supervisord does not leave on its own: waiting longer will not help. */
const TERMINAL: ReadonlySet<string> = new Set(['FATAL', 'STOPPED', 'UNKNOWN']);

export interface ProcessVerdict {
  /** All expected rqctl processes are RUNNING. */
  ok: boolean;
  /** Something is in a state it will not leave (FATAL, STOPPED): no point waiting. */
  final: boolean;
  processes: (SupervisedProcess & { ok: boolean })[];
  problems: string[];
}

/**
 * Judges the rqctl processes. Expected: every program the supervisord file declares with its
 * `numprocs`; without the file, at least one `rqctl-worker` and one `rqctl-scheduler`.
 */
export function judgeProcesses(status: SupervisedProcess[], declared: DeclaredProgram[] | undefined): ProcessVerdict {
  const ours = status.filter((p) => isRqctlProgram(p.program) || isRqctlProgram(p.name.split(':').pop() ?? ''));
  const processes = ours.map((p) => ({ ...p, ok: p.state === 'RUNNING' }));
  const problems: string[] = [];
  for (const p of processes) if (!p.ok) problems.push(`${p.name} is ${p.state}${p.description ? ` (${p.description})` : ''}`);
  const expected: DeclaredProgram[] = declared
    ? declared.filter((d) => isRqctlProgram(d.name))
    : [
        { name: 'rqctl-worker', numprocs: 1 },
        { name: 'rqctl-scheduler', numprocs: 1 },
      ];
  let missing = false;
  for (const e of expected) {
    const belongs = (p: SupervisedProcess) => {
      const proc = p.name.split(':').pop() ?? '';
      return declared ? p.program === e.name || proc === e.name || proc.startsWith(`${e.name}_`) : p.program.startsWith(e.name) || proc.startsWith(e.name);
    };
    const n = ours.filter(belongs).length;
    if (n < e.numprocs) {
      missing = true;
      problems.push(declared ? `${e.name}: ${n} of ${e.numprocs} processes in supervisorctl status` : `no ${e.name} process in supervisorctl status`);
    }
  }
  const final = processes.some((p) => TERMINAL.has(p.state));
  return { ok: problems.length === 0 && !missing, final, processes, problems };
}

/** The supervisord configuration a command line names (`supervisord -c FILE`, `--configuration FILE`). */
export function supervisordConfigFrom(argv: string[]): string | undefined {
  const at = argv.findIndex((a) => /(^|\/)supervisord$/.test(a));
  if (at >= 0) {
    const args = argv.slice(at + 1);
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      if ((a === '-c' || a === '--configuration') && args[i + 1]) return args[i + 1];
      const eq = /^(?:--configuration=|-c)(.+)$/.exec(a);
      if (eq) return eq[1];
    }
    return undefined;
  }
  // `sh -c "exec supervisord -c /etc/… -n"`: look inside the shell string.
  const shell = argv.find((a) => /\s/.test(a.trim()) && /(^|[\s/])supervisord(\s|$)/.test(a));
  return shell
    ? supervisordConfigFrom(
        shell
          .trim()
          .split(/\s+/)
          .map((t) => t.replace(/^["']|["';]$/g, '')),
      )
    : undefined;
}

/** Whether a container's process (entrypoint + command) runs supervisord. */
export function runsSupervisord(argv: string[]): boolean {
  return argv.some((a) => /(^|[\s/])supervisord(\s|$)/.test(a));
}
