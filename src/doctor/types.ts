import type { Config } from '../config/resolve.js';
import type { Role } from '../config/endpoints.js';
import type { RedisClient } from '../redis/connect.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  /** Stable id, e.g. `queue.eviction-policy`; scripts filter on it. */
  id: string;
  status: CheckStatus;
  message: string;
  /** What to do about it (empty when ok). */
  fix?: string;
}

/** One connection per role, or the error that stopped it. */
export interface DoctorContext {
  config: Config;
  clients: Partial<Record<Role, RedisClient>>;
  now: number;
}

/** A family of checks. Later features add their own (workers alive, scheduler heartbeat, cache TTLs). */
export type CheckGroup = (ctx: DoctorContext) => Promise<CheckResult[]>;
