import { Option, type Command } from 'commander';
import { createRequire } from 'node:module';
import { withQueueClient } from '../clients.js';
import { action, durationOption, intOption, type CommandContext } from '../context.js';
import { queuesFromFlag } from '../queue-flag.js';
import type { LogEvent, Output } from '../render.js';
import { exitNow, onSignals } from '../signals.js';
import type { Config } from '../../config/resolve.js';
import { MAX_TIMER_MS } from '../../util/duration.js';
import type { WorkerSettings } from '../../runtime/worker.js';
import type { WorkerRecord } from '../../runtime/worker-registry.js';

/** A duration flag in seconds, within the bounds of its config key (`worker.*` in docs/configuration.md). */
const seconds = (name: string, minSeconds: number, maxSeconds: number) => {
  const parse = durationOption(name, { min: minSeconds * 1000, max: maxSeconds * 1000 });
  return (value: string): number => parse(value) / 1000;
};

interface WorkerFlags {
  queue?: string;
  concurrency?: number;
  tries?: number;
  backoff?: number;
  timeout?: number;
  grace?: number;
  maxTime?: number;
  maxJobs?: number;
  memory?: number;
  sleep?: number;
  stopWhenEmpty?: boolean;
  name?: string;
}

/** Commands of the "worker" group: `worker`, `worker restart`, `workers`. */
export function register(program: Command): void {
  const worker = program
    .command('worker')
    .description('run one worker process: take jobs from the queues and run them (SIGTERM/SIGINT: finish running jobs, exit 0)')
    .option('--queue <names>', 'queues to consume, comma-separated (default: worker.queues, i.e. default,emails)')
    .option('--concurrency <n>', 'jobs at a time in this process, across its queues (default 1)', intOption('--concurrency', 1, 10_000))
    .option('--tries <n>', 'attempts for jobs that set none themselves (default 3)', intOption('--tries', 1, 1000))
    .option('--backoff <seconds>', 'fixed wait between attempts for jobs that set none (default 60)', seconds('--backoff', 0, 86_400))
    .option(
      '--timeout <seconds>',
      'a job\'s AbortSignal fires after this and it fails with "timed out after S s" (default 300; a job type may only ask for less)',
      seconds('--timeout', 0.001, 86_400),
    )
    .addOption(
      new Option(
        '--grace <seconds>',
        'how long a timed-out job may ignore its signal before the process exits non-zero so supervisord replaces it (default 10)',
      ).argParser(seconds('--grace', 0.001, 3600)),
    )
    .option(
      '--max-time <seconds>',
      'stop taking jobs after this long, finish the running ones, exit 0 (default: never)',
      seconds('--max-time', 0, MAX_TIMER_MS / 1000),
    )
    .option('--max-jobs <n>', 'stop taking jobs after this many, finish the running ones, exit 0', intOption('--max-jobs', 1))
    .option('--memory <MB>', 'stop taking jobs once the resident memory (RSS) exceeds this, finish the running ones, exit 0', intOption('--memory', 1))
    .option(
      '--sleep <seconds>',
      'when the queues are empty, how long one blocking wait for a job lasts (BullMQ drainDelay; a job that arrives meanwhile is taken at once; default 3)',
      seconds('--sleep', 0.001, 10),
    )
    .option('--stop-when-empty', 'exit 0 once the queues are empty and nothing runs')
    .option('--name <name>', 'worker name shown by `rqctl workers` and stored on the jobs it runs (default host:pid)')
    .addHelpText(
      'after',
      `
Extra job types: set RQCTL_EXTRA_JOBS=./my-jobs.js (or jobs.modules in rqctl.config.yaml); see the README.
A second SIGTERM/SIGINT exits 130 at once. \`rqctl worker restart\` makes every running worker finish its
jobs and exit 0. Exit 1 when a job ignored its timeout (the job is then recovered as stalled).`,
    )
    .action(action(runWorker));

  worker
    .command('restart')
    .description('every running worker finishes its current jobs and exits 0 (supervisord starts a fresh one); a timestamp in the queue role')
    .action(
      action(async (ctx) => {
        const { requestRestart, listWorkers } = await import('../../runtime/worker-registry.js');
        const result = await withQueueClient(ctx, async (queue, cfg) => {
          const at = await requestRestart(cfg, queue);
          const workers = await listWorkers(cfg, queue);
          return { restartAt: new Date(at).toISOString(), workers: workers.length };
        });
        const { out } = ctx;
        out.result(result, () => {
          out.line(
            `restart requested at ${result.restartAt}: ${result.workers} running worker${result.workers === 1 ? '' : 's'} will finish their current jobs and exit`,
          );
          out.info('workers notice it within a few seconds; supervisord (or `rqctl up`) starts fresh ones');
        });
      }),
    );

  program
    .command('workers')
    .description('live workers: name, host, pid, queues, concurrency, started, jobs done (from their heartbeats in the queue role)')
    .action(
      action(async (ctx) => {
        const { listWorkers } = await import('../../runtime/worker-registry.js');
        const { formatDuration } = await import('../../util/duration.js');
        const workers = await withQueueClient(ctx, (queue, cfg) => listWorkers(cfg, queue));
        ctx.out.result({ workers }, () => renderWorkers(ctx.out, workers, formatDuration));
      }),
    );
}

/**
 * `rqctl worker`: the worker runs until a signal, a limit or `rqctl worker restart` stops it, and
 * exits with what it reports. Signals that arrive while it connects still stop it once it runs.
 */
async function runWorker({ out, config }: CommandContext, flags: WorkerFlags): Promise<number> {
  const { eventLogger } = await import('../render.js');
  const log = eventLogger(out);
  const signals = new WorkerSignals(log);
  try {
    const cfg = await config();
    const { loadJobTypes } = await import('../../jobs/load.js');
    await loadJobTypes(cfg, process.cwd());
    const { startWorker } = await import('../../runtime/worker.js');
    const worker = await startWorker(cfg, workerSettings(flags, cfg), log);
    signals.stopWith((why) => void worker.close('signal', why));
    const stop = await worker.stopped;
    // A job that ignored its timeout still holds the event loop: leave now, supervisord starts a
    // fresh process and BullMQ recovers the job as stalled. A wedged BullMQ connection (dropped
    // after a timeout) may hold the event loop too: leave anyway.
    if (stop.exitCode !== 0 || stop.forced) exitNow(stop.exitCode);
    return stop.exitCode;
  } finally {
    signals.dispose();
  }
}

function workerSettings(flags: WorkerFlags, cfg: Config): WorkerSettings {
  return {
    queues: queuesFromFlag(flags.queue, cfg.worker.queues),
    concurrency: flags.concurrency ?? cfg.worker.concurrency,
    tries: flags.tries ?? cfg.worker.tries,
    backoff: flags.backoff ?? cfg.worker.backoff,
    timeout: flags.timeout ?? cfg.worker.timeout,
    grace: flags.grace ?? cfg.worker.grace,
    maxTime: flags.maxTime ?? cfg.worker.maxTime,
    maxJobs: flags.maxJobs ?? 0,
    memoryMb: flags.memory ?? 0,
    stopWhenEmpty: !!flags.stopWhenEmpty,
    sleep: flags.sleep ?? cfg.worker.sleep,
    name: flags.name,
    version: (createRequire(import.meta.url)('../../../package.json') as { version: string }).version,
  };
}

/**
 * SIGTERM/SIGINT stop the worker gracefully (finish running jobs); a second one exits 130 at once.
 * Started by `rqctl up`, the worker also stops when `up` goes away (even SIGKILLed): its IPC channel
 * closes, and that counts as a SIGTERM.
 */
class WorkerSignals {
  private received = false;
  private stopWorker: ((why: string) => void) | undefined;
  private readonly removeSignals: () => void;
  private readonly parentGone = () => void process.emit('SIGTERM', 'SIGTERM');

  constructor(private readonly log: (e: LogEvent) => void) {
    this.removeSignals = onSignals((signal) => this.first(signal), {
      onSecond: (signal) => log({ level: 'warn', event: 'interrupted', msg: `second ${signal}: exiting at once (running jobs will be recovered as stalled)` }),
    });
    if (process.send) process.on('disconnect', this.parentGone);
  }

  /** The worker runs: a signal stops it now, or at once if one came while it started. */
  stopWith(stop: (why: string) => void): void {
    this.stopWorker = stop;
    if (this.received) stop('signal received while starting');
  }

  dispose(): void {
    this.removeSignals();
    process.off('disconnect', this.parentGone);
  }

  private first(signal: NodeJS.Signals): void {
    this.received = true;
    this.log({ event: 'signal', signal, msg: `${signal}: finishing running jobs, then exiting (send it again to exit at once)` });
    this.stopWorker?.(`${signal} received`);
  }
}

function renderWorkers(out: Output, workers: WorkerRecord[], formatDuration: (ms: number) => string): void {
  if (!workers.length) {
    out.info('no live workers (start one with `rqctl worker`, or `rqctl up`)');
    return;
  }
  const now = Date.now();
  out.line(
    out.table(
      ['name', 'host', 'pid', 'queues', 'concurrency', 'started', 'jobs done', 'failed', 'running'],
      workers.map((w) => [
        w.name,
        w.host,
        w.pid,
        w.queues.join(','),
        w.concurrency,
        `${w.started.replace('T', ' ').slice(0, 19)} (${formatDuration(now - Date.parse(w.started))} ago)`,
        w.jobsDone,
        w.jobsFailed,
        w.running,
      ]),
    ),
  );
}
