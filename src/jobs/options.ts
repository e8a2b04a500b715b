import type { JobsOptions } from 'bullmq';
import type { Config } from '../config/resolve.js';
import { retention } from '../queue/queues.js';
import type { JobType } from './types.js';

export interface EnqueueOverrides {
  /** Attempts (dispatch --tries). */
  tries?: number;
  /** Fixed backoff in seconds (dispatch --backoff). */
  backoffSeconds?: number;
  /** dispatch --delay, in ms. */
  delayMs?: number;
  jobId?: string;
}

/**
 * BullMQ options for one job of a type: attempts and fixed backoff (the type's own, else the
 * configured worker defaults), retention (completed 24 h / 10,000, failed 30 days / 100,000).
 */
export function jobOptions(type: JobType<any>, config: Config, o: EnqueueOverrides = {}): JobsOptions {
  const attempts = o.tries ?? type.tries ?? config.worker.tries;
  const backoff = o.backoffSeconds ?? type.backoff ?? config.worker.backoff;
  return {
    attempts,
    backoff: { type: 'fixed', delay: backoff * 1000 },
    ...retention(config),
    ...(o.delayMs ? { delay: o.delayMs } : {}),
    ...(o.jobId ? { jobId: o.jobId } : {}),
  };
}
