import { Option, type Command } from 'commander';
import { createRequire } from 'node:module';
import { action, durationOption, intOption } from '../context.js';
import { usageError } from '../../errors.js';

const seconds = (name: string, min = 0) => {
  const parse = durationOption(name);
  return (value: string): number => {
    const s = parse(value) / 1000;
    if (s < min) throw usageError(`${name} must be at least ${min} s (got "${value}")`);
    return s;
  };
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
    .option('--backoff <seconds>', 'fixed wait between attempts for jobs that set none (default 60)', seconds('--backoff'))
    .option(
      '--timeout <seconds>',
      'a job\'s AbortSignal fires after this and it fails with "timed out after S s" (default 300; a job type may only ask for less)',
      seconds('--timeout', 0.001),
    )
    .addOption(
      new Option(
        '--grace <seconds>',
        'how long a timed-out job may ignore its signal before the process exits non-zero so supervisord replaces it (default 10)',
      ).argParser(seconds('--grace', 0.001)),
    )
    .option('--max-time <seconds>', 'stop taking jobs after this long, finish the running ones, exit 0 (default: never)', seconds('--max-time'))
    .option('--max-jobs <n>', 'stop taking jobs after this many, finish the running ones, exit 0', intOption('--max-jobs', 1))
    .option('--memory <MB>', 'stop taking jobs once the resident memory (RSS) exceeds this, finish the running ones, exit 0', intOption('--memory', 1))
    .option(
      '--sleep <seconds>',
      'when the queues are empty, how long one blocking wait for a job lasts (BullMQ drainDelay; a job that arrives meanwhile is taken at once; default 3)',
      seconds('--sleep', 0.001),
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
    .action(
      action(async ({ out, config }, flags: WorkerFlags) => {
        const { eventLogger } = await import('../render.js');
        const log = eventLogger(out);
        // Signals that arrive while connecting still stop the worker gracefully once it runs.
        let signals = 0;
        let stopWorker: ((why: string) => void) | undefined;
        const onSignal = (sig: string) => {
          signals++;
          if (signals > 1) {
            log({ level: 'warn', event: 'interrupted', msg: `second ${sig}: exiting at once (running jobs will be recovered as stalled)` });
            process.exit(130);
          }
          log({ event: 'signal', signal: sig, msg: `${sig}: finishing running jobs, then exiting (send it again to exit at once)` });
          stopWorker?.(`${sig} received`);
        };
        const onTerm = () => onSignal('SIGTERM');
        const onInt = () => onSignal('SIGINT');
        // Started by `rqctl up`: when it goes away (even SIGKILLed), stop like on SIGTERM.
        const onDisconnect = () => onSignal('SIGTERM');
        process.on('SIGTERM', onTerm);
        process.on('SIGINT', onInt);
        if (process.send) process.on('disconnect', onDisconnect);
        try {
          const cfg = await config();
          const { loadJobTypes } = await import('../../jobs/load.js');
          await loadJobTypes(cfg, process.cwd());
          const { startWorker } = await import('../../runtime/worker.js');
          const w = await startWorker(
            cfg,
            {
              queues:
                flags.queue !== undefined
                  ? flags.queue
                      .split(',')
                      .map((s) => s.trim())
                      .filter(Boolean)
                  : [...cfg.worker.queues],
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
            },
            log,
          );
          stopWorker = (why) => void w.close('signal', why);
          if (signals > 0) stopWorker('signal received while starting');
          const stop = await w.stopped;
          // A job that ignored its timeout still holds the event loop: leave now, supervisord
          // starts a fresh process and BullMQ recovers the job as stalled.
          // A wedged BullMQ connection (dropped after a timeout) may hold the event loop: leave anyway.
          if (stop.exitCode !== 0 || stop.forced) process.exit(stop.exitCode);
          return 0;
        } finally {
          process.off('SIGTERM', onTerm);
          process.off('SIGINT', onInt);
          process.off('disconnect', onDisconnect);
        }
      }),
    );

  worker
    .command('restart')
    .description('every running worker finishes its current jobs and exits 0 (supervisord starts a fresh one); a timestamp in the queue role')
    .action(
      action(async ({ out, config }) => {
        const cfg = await config();
        const { withRoles } = await import('../../redis/connect.js');
        const { requestRestart, listWorkers } = await import('../../runtime/worker-registry.js');
        const result = await withRoles(cfg, ['queue'], async ({ queue }) => {
          const at = await requestRestart(cfg, queue);
          const workers = await listWorkers(cfg, queue);
          return { restartAt: new Date(at).toISOString(), workers: workers.length };
        });
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
      action(async ({ out, config }) => {
        const cfg = await config();
        const { withRoles } = await import('../../redis/connect.js');
        const { listWorkers } = await import('../../runtime/worker-registry.js');
        const { formatDuration } = await import('../../util/duration.js');
        const workers = await withRoles(cfg, ['queue'], ({ queue }) => listWorkers(cfg, queue));
        out.result({ workers }, () => {
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
        });
      }),
    );
}
