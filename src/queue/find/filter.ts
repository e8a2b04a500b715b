import { usageError } from '../../errors.js';
import { errorMatcher, nameMatcher } from '../failed/filter.js';
import type { ReadResult, StoredJob } from '../walk/job-hash.js';
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
  /**
   * A job met in `state`: its parsed record when it matches, the corrupt entry when it cannot be
   * loaded and what can be read of it does not rule it out, else null (not a match).
   */
  judge(job: StoredJob, state: JobState): ReadResult | null;
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

/**
 * Without --state: every state but active (jobs running right now); with an action, the states it
 * applies to — except that `--retry` retries failed jobs only unless `--state completed` asks for it:
 * running finished work again (an e-mail sent twice) is a choice to make out loud.
 */
export function defaultStates(action?: FindAction): JobState[] {
  const all = JOB_STATES.filter((s) => s !== 'active');
  if (action === 'retry') return ['failed'];
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

function int(v: string | null | undefined): number | null {
  if (v === null || v === undefined || v === '') return null;
  const n = Number.parseInt(v, 10);
  return Number.isFinite(n) ? n : null;
}

/**
 * The filters as one test. It runs for every job a walk reads, so it looks at the stored fields
 * first (the time, the failure reason, then the data, parsed once) and parses a job in full only
 * when it matches; `judge` never parses what a cheaper check has ruled out.
 */
export function compileFind(filter: FindFilter): CompiledFind {
  const byName = filter.name !== undefined ? nameMatcher(filter.name) : null;
  const byError = filter.error !== undefined ? errorMatcher(filter.error) : null;
  const byData = compileWhere(filter.where ?? []);
  const { since, until } = filter;
  if (since !== undefined && until !== undefined && since > until) {
    throw usageError('--since is later than --until: nothing can match', 'swap them, e.g. --since 2d --until 1d');
  }
  const byTime = since !== undefined || until !== undefined;
  return {
    queues: filter.queues && filter.queues.length ? filter.queues : undefined,
    states: filter.states,
    since,
    until,
    judge(job, state) {
      const f = job.fields;
      if (!f || job.missing) return job.read;
      if (byTime) {
        const t = jobTime(state, { finishedOn: int(f.finishedOn), timestamp: int(f.timestamp) });
        if (t === null || (since !== undefined && t < since) || (until !== undefined && t > until)) return null;
      }
      if (byError && !byError.test(f.failedReason ?? '')) return null;
      if (byName || byData) {
        let data: unknown;
        try {
          data = f.data ? JSON.parse(f.data) : {};
        } catch {
          return job.read;
        }
        const method =
          data && typeof data === 'object' && typeof (data as { method?: unknown }).method === 'string' ? (data as { method: string }).method : undefined;
        if (byName && !byName(f.name ?? '', method)) return null;
        if (byData && !byData(data)) return null;
      }
      return job.read;
    },
  };
}
