import type { Command } from 'commander';
import { createRequire } from 'node:module';
import { action, durationOption, intOption, MIN_INTERVAL_MS, type CommandContext } from '../context.js';
import { queuesFromFlag } from '../queue-flag.js';
import type { LogEvent } from '../render.js';
import { onSignals } from '../signals.js';
import type { UpScreen } from '../render/up.js';
import type { Config } from '../../config/resolve.js';
import type { UpOptions } from '../../runtime/up.js';

interface UpFlags {
  workers?: number;
  concurrency?: number;
  scheduler: boolean;
  queue?: string;
  redisPort?: number;
  statusInterval?: number;
  dashboard: boolean;
}

/** The main job: `rqctl up`. */
export function register(program: Command): void {
  program
    .command('up')
    .description(
      'run the stack in the foreground: workers and the scheduler with a live status; with no Redis configured, an embedded redis-server (Ctrl-C stops everything)',
    )
    .option('--workers <n>', 'worker processes (default 1)', intOption('--workers', 1, 64))
    .option('--concurrency <n>', 'jobs at a time per worker process (default 3)', intOption('--concurrency', 1, 10_000))
    .option('--no-scheduler', 'do not run the scheduler')
    .option('--no-dashboard', 'do not serve the dashboard (default: on 127.0.0.1, the first free port from DASHBOARD_PORT, 7780)')
    .option('--queue <names>', 'queues the workers consume, comma-separated (default: worker.queues, i.e. default,emails)')
    .option(
      '--redis-port <port>',
      'embedded redis-server only: the port to use (default 6379 when free, else any free port; 0 = any free port)',
      intOption('--redis-port', 0, 65535),
    )
    .option(
      '--status-interval <duration>',
      'how often the status refreshes (default 1s on a terminal; off a terminal one JSON status line every 10s)',
      durationOption('--status-interval', { min: MIN_INTERVAL_MS }),
    )
    .action(action(runUp));
}

/** `rqctl up`: runs until a signal stops it (or the embedded server dies), and exits with its code. */
async function runUp(ctx: CommandContext, flags: UpFlags): Promise<number> {
  const cfg = await ctx.config();
  const [{ eventLogger }, { UpScreen }] = await Promise.all([import('../render.js'), import('../render/up.js')]);
  const screen = new UpScreen(ctx.out, eventLogger(ctx.out));
  const signals = new UpSignals(screen.log);
  try {
    // Extra job modules load here too (the scheduler runs in this process) and fail before
    // anything starts when they are broken.
    const { loadJobTypes } = await import('../../jobs/load.js');
    await loadJobTypes(cfg, process.cwd());
    const { startUp } = await import('../../runtime/up.js');
    const options = upOptions(ctx, flags, cfg, screen);
    if (flags.dashboard) {
      const { dashboardOptions } = await import('../../dashboard/options.js');
      const version = (createRequire(import.meta.url)('../../../package.json') as { version: string }).version;
      options.dashboard = { ...dashboardOptions(cfg, { host: '127.0.0.1' }), rqctlVersion: version };
    }
    const up = await startUp(cfg, options);
    signals.stopWith(() => void up.close());
    screen.ready(up.info);
    const code = await up.done;
    screen.end();
    return code;
  } finally {
    signals.dispose();
  }
}

function upOptions({ globals }: CommandContext, flags: UpFlags, cfg: Config, screen: UpScreen): UpOptions {
  // The workers are `rqctl worker` with the same global flags.
  const globalArgs: string[] = [];
  if (globals.config) globalArgs.push('--config', globals.config);
  if (globals.envFile) globalArgs.push('--env-file', globals.envFile);
  if (globals.verbose) globalArgs.push('--verbose');
  // --redis-url reaches the workers through their environment, not their command line: `ps` shows
  // arguments to every user of the host, and the URL may hold a password. REDIS_URL from the
  // environment is what --redis-url overrides, so the workers resolve the same server.
  const env = globals.redisUrl ? { ...process.env, REDIS_URL: globals.redisUrl } : process.env;
  return {
    cwd: process.cwd(),
    workers: flags.workers ?? 1,
    concurrency: flags.concurrency ?? 3,
    queues: queuesFromFlag(flags.queue, cfg.worker.queues),
    scheduler: flags.scheduler,
    workerCommand: { command: process.execPath, args: [process.argv[1], 'worker', ...globalArgs], env },
    embedded: { preferredPort: flags.redisPort, searchPath: process.env.PATH },
    statusIntervalMs: flags.statusInterval ?? (screen.onTerminal ? 1000 : 10_000),
    log: screen.log,
    onStatus: screen.status,
  };
}

/**
 * Ctrl-C, SIGTERM and SIGHUP (the terminal closed: the workers and Redis run detached) stop `up`
 * gracefully; a second one stops the workers at once. `up` itself exits only once they have gone,
 * so every signal goes to `close()`; one that arrives while starting (e.g. the embedded server
 * loading its AOF) still stops it once it runs.
 */
class UpSignals {
  private received = 0;
  private closeUp: (() => void) | undefined;
  private readonly removeSignals: () => void;

  constructor(private readonly log: (e: LogEvent) => void) {
    this.removeSignals = onSignals((signal) => this.onSignal(signal), { signals: ['SIGINT', 'SIGTERM', 'SIGHUP'], secondExits: false });
  }

  stopWith(close: () => void): void {
    this.closeUp = close;
    if (this.received > 0) close();
  }

  dispose(): void {
    this.removeSignals();
  }

  private onSignal(signal: NodeJS.Signals): void {
    this.received++;
    if (this.received === 1) this.log({ event: 'signal', signal, msg: `${signal}: stopping (workers finish their running jobs; again to stop at once)` });
    else this.log({ level: 'warn', event: 'signal', signal, msg: `${signal} again: stopping at once` });
    this.closeUp?.();
  }
}
