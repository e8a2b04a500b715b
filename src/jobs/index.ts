import { SendEmail } from './email/send-email.js';
import { FetchCryptoData, FetchStockData } from './fetch/job.js';
import { SelectRaffleWinners, UpdateRaffleStatuses } from './raffles/jobs.js';
import { RefreshCryptoCache, RefreshStockCache } from './refresh.js';
import { registerJobType } from './registry.js';

/**
 * The bundled job types. Importing this module registers them all; the worker, `dispatch`, `jobs`
 * and the scheduler import it before looking a type up by name.
 */
export const BUNDLED_JOB_TYPES = [
  FetchCryptoData,
  FetchStockData,
  RefreshCryptoCache,
  RefreshStockCache,
  SendEmail,
  UpdateRaffleStatuses,
  SelectRaffleWinners,
] as const;

for (const type of BUNDLED_JOB_TYPES) registerJobType(type);

export { getJobType, findJobType, jobTypes, registerJobType } from './registry.js';
