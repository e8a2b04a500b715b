import { discoverQueues, openQueue } from '../queue/queues.js';
import { listWorkers } from '../runtime/worker-registry.js';
import { mayRun } from '../redis/acl/probes.js';
import type { CheckGroup, CheckResult } from './types.js';

/**
 * Workers alive for each queue (docs/doctor.md): a queue with waiting jobs and no worker is a warning.
 * Live workers come from rqctl's heartbeats, and from BullMQ's own worker list (CLIENT LIST) for
 * workers rqctl did not start; a server that denies CLIENT LIST just skips the second source.
 */
export const workerChecks: CheckGroup = async (ctx) => {
  const client = ctx.clients.queue;
  if (!client) return [];
  const out: CheckResult[] = [];
  const [queues, workers] = await Promise.all([discoverQueues(ctx.config, client), listWorkers(ctx.config, client)]);
  const mayListClients = mayRun(client, ctx.config.roles.queue.username ?? 'default', ['client', 'list']);
  for (const name of queues) {
    const queue = openQueue(ctx.config, name, client);
    try {
      const counts = await queue.getJobCounts('wait', 'prioritized');
      const waiting = (counts.wait ?? 0) + (counts.prioritized ?? 0);
      const ours = workers.filter((w) => w.queues.includes(name));
      const others = ours.length || !(await mayListClients) ? 0 : await queue.getWorkersCount().catch(() => 0);
      const alive = ours.length + others;
      const paused = waiting > 0 ? await queue.isPaused().catch(() => false) : false;
      const id = `workers.${name}`;
      if (alive > 0) {
        const names = ours.map((w) => w.name).join(', ');
        out.push({
          id,
          status: 'ok',
          message: `queue ${name}: ${alive} worker${alive === 1 ? '' : 's'}${names ? ` (${names})` : ''}, ${waiting} waiting${paused ? ' (paused)' : ''}`,
        });
      } else if (waiting > 0) {
        out.push({
          id,
          status: 'warn',
          message: `queue ${name} has ${waiting} waiting job${waiting === 1 ? '' : 's'} but no worker${paused ? ' (and the queue is paused)' : ''}`,
          fix: `start one: \`rqctl worker --queue ${name}\` (or \`rqctl up\`); under supervisord check \`supervisorctl status\`${paused ? `; resume the queue: \`rqctl queue resume ${name}\`` : ''}`,
        });
      } else {
        out.push({ id, status: 'ok', message: `queue ${name}: nothing waiting, no worker running` });
      }
    } finally {
      await queue.close();
    }
  }
  return out;
};
