import { Worker, type Job } from 'bullmq';
import type { Config } from '../../src/config/resolve.js';
import { closeClient, connectRole, type RedisClient } from '../../src/redis/connect.js';
import { queueConnection } from '../../src/queue/queues.js';
import { getJobType } from '../../src/jobs/index.js';
import type { JobContext } from '../../src/jobs/types.js';
import { ProviderLimits } from '../../src/limits/provider-limits.js';

/**
 * A minimal BullMQ worker for tests of the job processors: it calls
 * `getJobType(job.name).process(job.data, ctx)` with a JobContext, as `rqctl worker` does, without
 * that command's runtime (signals, limits, logging). Always close() it.
 */
export interface TestWorker {
  logs: { event: string; job: string; fields?: Record<string, unknown> }[];
  close(): Promise<void>;
}

export async function startJobWorker(config: Config, queues: string[], options: { concurrency?: number } = {}): Promise<TestWorker> {
  const queueClient: RedisClient = await connectRole(config, 'queue', { use: 'worker' });
  const cacheClient: RedisClient = await connectRole(config, 'cache', { use: 'worker' });
  const logs: TestWorker['logs'] = [];
  const limits = new ProviderLimits(config, queueClient);
  const processor = async (job: Job, _token?: string, signal?: AbortSignal) => {
    const ctx: JobContext = {
      config,
      signal: signal ?? new AbortController().signal,
      job,
      redis: { queue: queueClient, cache: cacheClient },
      limits,
      log: (event, fields) => logs.push({ event, job: `${job.name}#${job.id}`, fields }),
    };
    return getJobType(job.name).process(job.data, ctx);
  };
  const workers = queues.map(
    (q) =>
      new Worker(q, processor, {
        connection: queueConnection(config, 'worker'),
        prefix: config.queue.prefix,
        concurrency: options.concurrency ?? 3,
        // Short blocking waits so close() is quick.
        drainDelay: 1,
      }),
  );
  for (const w of workers) w.on('error', () => {});
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  return {
    logs,
    async close() {
      await Promise.all(workers.map((w) => w.close()));
      await Promise.all([closeClient(queueClient), closeClient(cacheClient)]);
    },
  };
}
