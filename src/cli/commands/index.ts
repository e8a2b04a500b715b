import type { Command } from 'commander';
import * as alerts from './alerts.js';
import * as cache from './cache.js';
import * as completion from './completion.js';
import * as config from './config.js';
import * as dashboard from './dashboard.js';
import * as deploy from './deploy.js';
import * as dispatch from './dispatch.js';
import * as doctor from './doctor.js';
import * as failed from './failed.js';
import * as jobs from './jobs.js';
import * as keys from './keys.js';
import * as limits from './limits.js';
import * as metrics from './metrics.js';
import * as ping from './ping.js';
import * as queue from './queue.js';
import * as raffles from './raffles.js';
import * as scheduler from './scheduler.js';
import * as stats from './stats.js';
import * as up from './up.js';
import * as worker from './worker.js';

/**
 * Every command group, in the order `--help` lists them. Each module only declares its commands;
 * the core it runs is imported inside the action, so start-up stays fast.
 */
export const commandModules: { register(program: Command): void }[] = [
  up,
  worker,
  scheduler,
  dispatch,
  jobs,
  queue,
  failed,
  cache,
  keys,
  stats,
  limits,
  ping,
  doctor,
  metrics,
  alerts,
  dashboard,
  config,
  deploy,
  raffles,
  completion,
];
