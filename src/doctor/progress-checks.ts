import { sampleQueues } from '../queue/monitor.js';
import { listWorkers } from '../runtime/worker-registry.js';
import { formatSpan } from '../util/duration.js';
import type { CheckGroup, CheckResult } from './types.js';

/** A worker with free slots that finished nothing for this long while its queue had jobs ready is reported. */
const NO_PROGRESS_MS = 5 * 60_000;
/** Jobs ready for less than this may simply not have been taken yet. */
const READY_FOR_MS = 60_000;

/**
 * Workers that are alive but not working (docs/doctor.md): a heartbeat, free slots, a backlog that
 * has waited, and no job finished for five minutes — the "connected but stopped processing" failure
 * of naive BullMQ setups. A worker busy with long jobs on every slot is not reported.
 */
export const workerProgressChecks: CheckGroup = async (ctx) => {
  const client = ctx.clients.queue;
  if (!client) return [];
  const workers = (await listWorkers(ctx.config, client)).filter((w) => w.progressAt !== undefined);
  if (workers.length === 0) return [];
  const queues = [...new Set(workers.flatMap((w) => w.queues))];
  const sample = await sampleQueues(ctx.config, client, queues, {}, ctx.now);
  const out: CheckResult[] = [];
  for (const w of workers) {
    const idle = ctx.now - Date.parse(w.progressAt!);
    if (idle < NO_PROGRESS_MS || w.running >= w.concurrency) continue;
    const stuck = sample.queues.filter((q) => w.queues.includes(q.name) && !q.isPaused && q.size > 0 && (q.oldestWaitMs ?? 0) >= READY_FOR_MS);
    if (stuck.length === 0) continue;
    const backlog = stuck.map((q) => `${q.name} has ${q.size} ready (oldest ${formatSpan(q.oldestWaitMs!)})`).join(', ');
    out.push({
      id: `worker-progress.${w.name}`,
      status: 'warn',
      message: `worker ${w.name} (pid ${w.pid} on ${w.host}) has finished no job for ${formatSpan(idle)} while queue ${backlog}`,
      fix: 'it may be connected but no longer taking jobs: look for redis-down or worker-error lines in its log, then restart it (`rqctl worker restart`, or supervisorctl restart)',
    });
  }
  if (out.length === 0)
    out.push({
      id: 'worker-progress',
      status: 'ok',
      message: `${workers.length} worker${workers.length === 1 ? '' : 's'} making progress (or nothing waiting for them)`,
    });
  return out;
};
