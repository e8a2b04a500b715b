import { programName, shellScript, simpleCommands, splitWords } from './shell-words.js';
import { timeoutSeconds } from './units.js';

/**
 * What a program or container runs, as far as the rules care: an rqctl or artisan queue worker (with
 * its job timeout), a scheduler, supervisord, a Redis server, or something else.
 */
export type ProgramKind = 'rqctl-worker' | 'rqctl-scheduler' | 'artisan-worker' | 'artisan-scheduler' | 'queue-worker' | 'supervisord' | 'other';

export interface ProgramInfo {
  kind: ProgramKind;
  /** Job timeout in seconds (workers only), explicit or the tool's default. */
  timeout?: number;
  timeoutExplicit?: boolean;
  /** The `--timeout` text as written. */
  timeoutText?: string;
  /** supervisord's `-c FILE` / `--configuration FILE`. */
  configFile?: string;
  /** Every simple command's words (for a `sh -c` script, each command of the script). */
  commands: string[][];
  /** For a queue-worker: which tool (Sidekiq, Celery, RQ, BullMQ…). */
  tool?: string;
}

const NODE_RUNNERS = new Set(['node', 'nodejs', 'npm', 'npx', 'yarn', 'pnpm', 'bun', 'ts-node', 'tsx', 'pm2-runtime']);
const PYTHONS = /^python[0-9.]*$/;

/**
 * A queue consumer of another ecosystem (docs/validate.md, "Workers"): Sidekiq, Celery, RQ, BullMQ (a
 * Node script or npm script named for a worker or queue), Symfony Messenger, Resque, delayed_job,
 * GoodJob, Django-Q. Returns the tool's name, or undefined.
 */
function otherQueueWorker(words: string[], i: number): string | undefined {
  const prog = programName(words[i]);
  const rest = words.slice(i + 1);
  if (prog === 'sidekiq' || prog === 'sidekiqswarm') return 'Sidekiq';
  if (prog === 'celery' && rest.includes('worker')) return 'Celery';
  if (prog === 'rqworker' || (prog === 'rq' && rest[0] === 'worker')) return 'RQ';
  if (prog === 'good_job' && rest[0] === 'start') return 'GoodJob';
  if (PYTHONS.test(prog)) {
    if (rest[0] === '-m' && rest[1] === 'celery' && rest.includes('worker')) return 'Celery';
    if (rest[0] === '-m' && rest[1] === 'rq.cli' && rest.includes('worker')) return 'RQ';
    const manage = rest.findIndex((w) => programName(w) === 'manage.py');
    if (manage >= 0 && ['rqworker', 'qcluster', 'celery', 'celeryd', 'run_huey'].includes(rest[manage + 1] ?? '')) return 'a Django queue';
  }
  if (programName(words[i]) === 'manage.py' && ['rqworker', 'qcluster', 'run_huey'].includes(rest[0] ?? '')) return 'a Django queue';
  if ((prog === 'php' || prog === 'console') && words.some((w) => w === 'messenger:consume')) return 'Symfony Messenger';
  if (prog === 'rake' && rest.some((w) => /^(resque|jobs|solid_queue):(work|start)$/.test(w))) return 'a Ruby queue';
  if (NODE_RUNNERS.has(prog) && rest.some((w) => /(^|[/:._-])(workers?|queues?|consumers?|bull(mq)?)([/:._-]|$)/i.test(w) && !w.startsWith('-')))
    return 'BullMQ';
  return undefined;
}

/** rqctl worker's default job timeout (docs/jobs.md, docs/worker.md) and artisan queue:work's. */
export const RQCTL_DEFAULT_TIMEOUT = 300;
export const ARTISAN_DEFAULT_TIMEOUT = 60;

function optionValue(words: string[], name: string): string | undefined {
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (w === name && i + 1 < words.length) return words[i + 1];
    if (w.startsWith(`${name}=`)) return w.slice(name.length + 1);
  }
  return undefined;
}

/** Expands `sh -c` scripts into their simple commands. */
export function commandsOf(argv: string[]): string[][] {
  const script = shellScript(argv);
  if (script === undefined) return [argv];
  try {
    return simpleCommands(script).flatMap((c) => commandsOf(c));
  } catch {
    return [argv];
  }
}

export function classifyArgv(argv: string[]): ProgramInfo {
  const commands = commandsOf(argv);
  for (const words of commands) {
    for (let i = 0; i < words.length; i++) {
      const prog = programName(words[i]);
      if (prog === 'rqctl' || prog === 'rqctl.js') {
        const rest = words.slice(i + 1);
        const sub = rest.find((w) => !w.startsWith('-'));
        if (sub === 'worker' && rest[rest.indexOf(sub) + 1] !== 'restart') {
          const text = optionValue(rest, '--timeout');
          return {
            kind: 'rqctl-worker',
            timeout: timeoutSeconds(text) ?? RQCTL_DEFAULT_TIMEOUT,
            timeoutExplicit: text !== undefined,
            timeoutText: text,
            commands,
          };
        }
        if (sub === 'scheduler' || sub === 'up')
          return { kind: sub === 'up' ? 'rqctl-worker' : 'rqctl-scheduler', timeout: sub === 'up' ? RQCTL_DEFAULT_TIMEOUT : undefined, commands };
      }
      if (prog === 'artisan') {
        const sub = words[i + 1];
        if (sub === 'queue:work' || sub === 'queue:listen') {
          const text = optionValue(words.slice(i + 2), '--timeout');
          return {
            kind: 'artisan-worker',
            timeout: timeoutSeconds(text) ?? ARTISAN_DEFAULT_TIMEOUT,
            timeoutExplicit: text !== undefined,
            timeoutText: text,
            commands,
          };
        }
        if (sub === 'horizon') return { kind: 'artisan-worker', commands };
        if (sub === 'schedule:run' || sub === 'schedule:work') return { kind: 'artisan-scheduler', commands };
      }
      if (prog === 'supervisord') {
        const rest = words.slice(i + 1);
        return { kind: 'supervisord', configFile: optionValue(rest, '-c') ?? optionValue(rest, '--configuration'), commands };
      }
    }
  }
  // Other ecosystems' consumers only when no rqctl, artisan or supervisord word came first (`node rqctl.js worker`).
  for (const words of commands)
    for (let i = 0; i < words.length; i++) {
      const tool = otherQueueWorker(words, i);
      if (tool) return { kind: 'queue-worker', tool, commands };
    }
  return { kind: 'other', commands };
}

export function classifyCommandLine(line: string): ProgramInfo {
  try {
    return classifyArgv(splitWords(line));
  } catch {
    return { kind: 'other', commands: [] };
  }
}

export const isWorkerKind = (k: ProgramKind) => k === 'rqctl-worker' || k === 'artisan-worker';
export const isQueueProgram = (k: ProgramKind) => k !== 'other' && k !== 'supervisord' && k !== 'queue-worker';
/** A queue consumer of any ecosystem (rqctl, Laravel, or another tool). */
export const isAnyWorker = (k: ProgramKind) => isWorkerKind(k) || k === 'queue-worker';
