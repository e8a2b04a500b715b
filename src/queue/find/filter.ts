import { usageError } from '../../errors.js';
import { errorMatcher, nameMatcher } from '../failed/filter.js';
import type { JobRecord } from '../walk/job-hash.js';
import { JOB_STATES, jobTime, type JobState } from '../walk/states.js';
import { compileWhere, type WhereCondition } from './where.js';

/**
 * What `jobs find` looks for (docs/commands.md): queues, states, and conditions on the job, all of
 * which must hold. `--name` and `--error` as in `failed list`; `--since`/`--until` bound the job's
 * time: when it finished for failed and completed jobs, when it was added for the others.
 */
export interface FindFilter {
  /** Queues to look in; every queue under the prefix when empty. */
  queues?: string[];
  states: JobState[];
  name?: string;
  error?: string;
  since?: number;
  until?: number;
  where?: WhereCondition[];
}

export interface CompiledFind {
  queues?: string[];
  states: JobState[];
  since?: number;
  until?: number;
  match(job: JobRecord, state: JobState): boolean;
}

/** What `jobs find` can do with its matches, besides listing them. */
export type FindAction = 'retry' | 'remove' | 'promote' | 'export';

/**
 * The states each action applies to. BullMQ's scripts check the state again, atomically, when they
 * act: a job that moved meanwhile is skipped, never acted on in another state.
 */
export const ACTION_STATES: Record<FindAction, readonly JobState[]> = {
  retry: ['failed', 'completed'],
  promote: ['delayed'],
  // A running job is locked by its worker: BullMQ refuses to remove it.
  remove: JOB_STATES.filter((s) => s !== 'active'),
  export: JOB_STATES,
};

/** Without --state: every state but active (jobs running right now); with an action, the states it applies to. */
export function defaultStates(action?: FindAction): JobState[] {
  const all = JOB_STATES.filter((s) => s !== 'active');
  return action ? all.filter((s) => ACTION_STATES[action].includes(s)) : all;
}

/** `--retry --state waiting` and the like: exit 2 before anything is read. */
export function checkActionStates(action: FindAction, states: readonly JobState[]): void {
  const wrong = states.filter((s) => !ACTION_STATES[action].includes(s));
  if (wrong.length === 0) return;
  const list = (xs: readonly string[]) => (xs.length > 1 ? `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}` : xs[0]);
  throw usageError(
    `--${action} does not apply to ${list(wrong)} jobs${wrong.includes('active') ? ' (a running job is locked by its worker)' : ''}`,
    `--${action} applies to ${list(ACTION_STATES[action])} jobs: leave out --state, or name only those`,
  );
}

export function compileFind(filter: FindFilter): CompiledFind {
  const byName = filter.name !== undefined ? nameMatcher(filter.name) : null;
  const byError = filter.error !== undefined ? errorMatcher(filter.error) : null;
  const byData = compileWhere(filter.where ?? []);
  const { since, until } = filter;
  if (since !== undefined && until !== undefined && since > until) {
    throw usageError('--since is later than --until: nothing can match', 'swap them, e.g. --since 2d --until 1d');
  }
  return {
    queues: filter.queues && filter.queues.length ? filter.queues : undefined,
    states: filter.states,
    since,
    until,
    match(job, state) {
      if (since !== undefined || until !== undefined) {
        const t = jobTime(state, job);
        if (t === null || (since !== undefined && t < since) || (until !== undefined && t > until)) return false;
      }
      if (byName && !byName(job.name, job.method)) return false;
      if (byError && !byError.test(job.failedReason)) return false;
      return !byData || byData(job.data);
    },
  };
}
