import { loadBundledJobTypes } from '../jobs/load.js';
import { entryQueue, planEntries } from '../schedule/entries.js';
import { scheduleKeys } from '../schedule/keys.js';
import { liveSchedulers, readLastRuns } from '../schedule/records.js';
import type { CheckGroup, CheckResult } from './types.js';
import { formatAgo } from '../util/duration.js';

const FIX_ALIVE = 'run `rqctl scheduler` (or `rqctl up`) under supervisord on at least one server, or `rqctl scheduler --once` from cron every minute';

/**
 * The scheduler's health, from what it writes to the queue role: its heartbeat, the job schedulers
 * it keeps in BullMQ, and the last run of each command entry.
 */
export const schedulerChecks: CheckGroup = async (ctx) => {
  const client = ctx.clients.queue;
  if (!client) return [];
  await loadBundledJobTypes();
  const entries = planEntries(ctx.config.schedule);
  const keys = scheduleKeys(ctx.config.queue.prefix);
  const out: CheckResult[] = [];

  const live = await liveSchedulers(client, keys);
  if (entries.length === 0) {
    out.push({ id: 'scheduler.alive', status: 'ok', message: `the schedule is empty${live.length ? `; ${live.length} scheduler(s) running` : ''}` });
  } else if (live.length === 0) {
    out.push({
      id: 'scheduler.alive',
      status: 'warn',
      message: 'no scheduler alive: command entries are not running (job schedulers already in Redis still fire)',
      fix: FIX_ALIVE,
    });
  } else {
    const who = live.map((b) => `${b.host} pid ${b.pid}${b.mode === 'once' ? ' (--once)' : ''}, beat ${formatAgo(b.beatAt, ctx.now)}`).join('; ');
    out.push({ id: 'scheduler.alive', status: 'ok', message: `${live.length} scheduler${live.length === 1 ? '' : 's'} alive: ${who}` });
  }

  // Job entries missing from BullMQ: the schedule was never synced (no scheduler ever started).
  const missing: string[] = [];
  for (const e of entries) {
    if (e.kind !== 'job') continue;
    // BullMQ keeps a queue's job schedulers in `<prefix>:<queue>:repeat` (id → next run).
    const score = await client.zscore(`${ctx.config.queue.prefix}:${entryQueue(e)}:repeat`, e.name);
    if (score === null) missing.push(e.name);
  }
  if (missing.length) {
    out.push({
      id: 'schedule.synced',
      status: 'warn',
      message: `job entries without a job scheduler in Redis: ${missing.join(', ')}`,
      fix: 'run `rqctl schedule sync` (a starting `rqctl scheduler` does it too)',
    });
  } else if (entries.some((e) => e.kind === 'job')) {
    out.push({ id: 'schedule.synced', status: 'ok', message: 'every job entry has its job scheduler in Redis' });
  }

  const runs = await readLastRuns(client, keys);
  const failing = entries
    .filter((e) => e.kind === 'command')
    .flatMap((e) => {
      const r = runs.get(e.name);
      return r && (r.status === 'failed' || r.status === 'timed-out' || r.status === 'error')
        ? [`${e.name} (${r.status}${r.exitCode !== undefined && r.exitCode !== null ? `, exit ${r.exitCode}` : ''} at ${r.startedAt})`]
        : [];
    });
  if (failing.length) {
    out.push({
      id: 'schedule.last-runs',
      status: 'warn',
      message: `scheduled commands whose last run failed: ${failing.join('; ')}`,
      fix: 'see the scheduler log (`command.output` lines) and `rqctl schedule list`',
    });
  }
  return out;
};
