import { usageError } from '../../errors.js';

/**
 * The states a BullMQ job can be in, as operators name them (`queue status`, bull-board), and where
 * BullMQ keeps each one (docs/redis-keys.md). Sorted sets are walked by score, lists by position.
 */
export const JOB_STATES = ['failed', 'completed', 'waiting', 'delayed', 'prioritized', 'waiting-children', 'active'] as const;
export type JobState = (typeof JOB_STATES)[number];

interface StateLayout {
  kind: 'zset' | 'list';
  /** The key names under `<prefix>:<queue>:`; `waiting` is the wait list plus BullMQ < 5's paused list. */
  keys: readonly string[];
  /** Scores are when the job finished (ms), so a time range maps onto a score range. */
  scoredByFinish?: boolean;
}

const LAYOUT: Record<JobState, StateLayout> = {
  failed: { kind: 'zset', keys: ['failed'], scoredByFinish: true },
  completed: { kind: 'zset', keys: ['completed'], scoredByFinish: true },
  waiting: { kind: 'list', keys: ['wait', 'paused'] },
  delayed: { kind: 'zset', keys: ['delayed'] },
  prioritized: { kind: 'zset', keys: ['prioritized'] },
  'waiting-children': { kind: 'zset', keys: ['waiting-children'] },
  active: { kind: 'list', keys: ['active'] },
};

export function stateLayout(state: JobState): StateLayout {
  return LAYOUT[state];
}

/** `<prefix>:<queue>:<name>` for a state key name (`failed`, `wait`…). */
export function stateKey(prefix: string, queue: string, name: string): string {
  return `${prefix}:${queue}:${name}`;
}

/** The time a job is placed in time by: when it finished (failed, completed), else when it was added. */
export function jobTime(state: JobState, job: { finishedOn: number | null; timestamp: number | null }): number | null {
  return LAYOUT[state].scoredByFinish ? (job.finishedOn ?? job.timestamp) : job.timestamp;
}

/** `--state failed,completed` → the states, each once, in the order of JOB_STATES; unknown names are exit 2. */
export function parseStates(text: string): JobState[] {
  const asked = text
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  if (asked.length === 0) throw usageError('--state is empty', `give one or more of: ${JOB_STATES.join(', ')}`);
  const aliases: Record<string, JobState> = { wait: 'waiting', paused: 'waiting' };
  const unknown = asked.filter((s) => !(JOB_STATES as readonly string[]).includes(s) && !aliases[s]);
  if (unknown.length) throw usageError(`unknown state${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`, `states: ${JOB_STATES.join(', ')}`);
  const set = new Set(asked.map((s) => aliases[s] ?? (s as JobState)));
  return JOB_STATES.filter((s) => set.has(s));
}
