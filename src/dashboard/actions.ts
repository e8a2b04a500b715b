import { getConnInfo } from '@hono/node-server/conninfo';
import type { MiddlewareHandler } from 'hono';
import type { Config } from '../config/resolve.js';
import type { EventLog } from '../runtime/events.js';
import { queueCounts, type QueueStatus } from '../queue/status.js';
import type { RedisClient } from '../redis/connect.js';
import { isSafeMethod } from './security.js';

/**
 * Every change asked of the dashboard is logged like the CLI's own (what, on which queue, how many
 * jobs), whether it was carried out or refused (docs/dashboard.md). The job browser's API paths
 * (bull-board's routes, below `<base>/queues`) name the action.
 */

interface Action {
  action: string;
  queue?: string;
  jobId?: string;
  /** The job state a bulk action works on (`retry/failed`, `clean/completed`). */
  state?: string;
}

const enc = decodeURIComponent;

/** What a mutating request of the job browser does, from its path below `/queues`. */
export function actionOf(method: string, path: string): Action {
  let m: RegExpExecArray | null;
  if ((m = /\/api\/queues\/(pause|resume)$/.exec(path))) return { action: `${m[1]}-all-queues` };
  if ((m = /\/api\/queues\/([^/]+)\/(retry|clean)\/([^/]+)$/.exec(path))) return { action: `${m[2]}-all`, queue: enc(m[1]), state: enc(m[3]) };
  if ((m = /\/api\/queues\/([^/]+)\/job-schedulers\/([^/]+)(?:\/(remove|run))?$/.exec(path)))
    return { action: `job-scheduler-${m[3] ?? 'update'}`, queue: enc(m[1]), jobId: enc(m[2]) };
  if ((m = /\/api\/queues\/([^/]+)\/(add|promote|pause|resume|empty|obliterate|concurrency|rate-limit|rate-limit\/release)$/.exec(path)))
    return { action: m[2] === 'promote' ? 'promote-all' : m[2].replace('/', '-'), queue: enc(m[1]) };
  if ((m = /\/api\/queues\/([^/]+)\/([^/]+)\/(retry|clean|promote|update-data|delay|priority|remove-unprocessed-children)$/.exec(path)))
    return { action: m[3] === 'clean' ? 'remove' : m[3], queue: enc(m[1]), jobId: enc(m[2]) };
  return { action: `${method.toLowerCase()} ${path}` };
}

/** The count a bulk action changes: the jobs of its state (`retry/failed`), or of the state it empties. */
function countOf(a: Action, counts: QueueStatus): number | null {
  const byState: Record<string, number> = {
    failed: counts.failed,
    completed: counts.completed,
    delayed: counts.delayed,
    wait: counts.waiting,
    waiting: counts.waiting,
    active: counts.active,
    prioritized: counts.prioritized,
    paused: counts.paused,
  };
  if (a.state !== undefined) return byState[a.state] ?? null;
  if (a.action === 'promote-all') return counts.delayed;
  if (a.action === 'empty') return counts.waiting;
  if (a.action === 'obliterate') return counts.waiting + counts.active + counts.delayed + counts.failed + counts.completed + counts.waitingChildren;
  return null;
}

/**
 * How many jobs an action touched: 1 for a job's own action; for a bulk one, its state's count
 * before minus after (bull-board's "clean all" spares jobs younger than 5 s, so the count before
 * alone would overstate it). Counts only, never a job list.
 */
async function jobsTouched(a: Action, read: () => Promise<QueueStatus | undefined>, run: () => Promise<void>): Promise<number | null> {
  if ((a.jobId !== undefined && !a.action.startsWith('job-scheduler')) || a.action === 'add') {
    await run();
    return 1;
  }
  const before = a.queue !== undefined ? await read() : undefined;
  await run();
  const after = before ? await read() : undefined;
  const b = before && countOf(a, before);
  const f = after && countOf(a, after);
  return typeof b === 'number' && typeof f === 'number' ? Math.max(0, b - f) : null;
}

function describe(a: Action, jobs: number | null): string {
  const what =
    a.jobId !== undefined
      ? `${a.action} job ${a.jobId}`
      : jobs !== null
        ? `${a.action} (${jobs} job${jobs === 1 ? '' : 's'}${a.state ? ` ${a.state}` : ''})`
        : a.action;
  return a.queue !== undefined ? `${what} on queue ${a.queue}` : what;
}

export function actionLog(config: Config, queueClient: () => RedisClient | undefined, log: EventLog, user: string | undefined): MiddlewareHandler {
  return async (c, next) => {
    if (isSafeMethod(c.req.method)) return next();
    const a = actionOf(c.req.method, c.req.path);
    const client = queueClient();
    const read = async () => (client && a.queue !== undefined ? (await queueCounts(config, client, [a.queue]).catch(() => undefined))?.[0] : undefined);
    let jobs = await jobsTouched(a, read, next);
    const status = c.res.status;
    let from: string | undefined;
    try {
      from = getConnInfo(c).remote.address;
    } catch {
      from = undefined;
    }
    const done = status < 400;
    if (!done) jobs = 0;
    log({
      level: done ? 'info' : 'warn',
      event: done ? 'dashboard-action' : 'dashboard-refused',
      msg: `${done ? '' : `refused (${status}): `}${describe(a, jobs)}`,
      action: a.action,
      queue: a.queue,
      jobId: a.jobId,
      state: a.state,
      jobs,
      status,
      user,
      from,
    });
  };
}
