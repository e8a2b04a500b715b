import type { Command } from 'commander';
import { action, durationOption, intOption } from '../context.js';
import type { LogEvent } from '../render.js';

interface UpFlags {
  workers?: number;
  concurrency?: number;
  scheduler: boolean;
  queue?: string;
  redisPort?: number;
  statusInterval?: number;
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
    .option('--queue <names>', 'queues the workers consume, comma-separated (default: worker.queues, i.e. default,emails)')
    .option(
      '--redis-port <port>',
      'embedded redis-server only: the port to use (default 6379 when free, else any free port; 0 = any free port)',
      intOption('--redis-port', 0, 65535),
    )
    .option(
      '--status-interval <duration>',
      'how often the status refreshes (default 1s on a terminal; off a terminal one JSON status line every 10s)',
      durationOption('--status-interval'),
    )
    .action(
      action(async ({ out, config, globals }, flags: UpFlags) => {
        const cfg = await config();
        const tty = out.stdoutIsTTY && !out.json;
        const { eventLogger } = await import('../render.js');
        const write = eventLogger(out);
        let statusLine = '';
        const clearLine = () => {
          if (tty && statusLine) process.stdout.write('\r\x1b[2K');
        };
        const log = (e: LogEvent) => {
          clearLine();
          write(e);
          if (tty && statusLine) process.stdout.write(statusLine);
        };

        // Ctrl-C while starting (e.g. the embedded server loading its AOF) still stops cleanly.
        let signals = 0;
        let closeUp: (() => void) | undefined;
        const onSignal = (sig: string) => {
          signals++;
          if (signals === 1) log({ event: 'signal', signal: sig, msg: `${sig}: stopping (workers finish their running jobs; again to stop at once)` });
          else log({ level: 'warn', event: 'signal', signal: sig, msg: `${sig} again: stopping at once` });
          closeUp?.();
        };
        const onInt = () => onSignal('SIGINT');
        const onTerm = () => onSignal('SIGTERM');
        // The terminal closed: stop as gracefully as on Ctrl-C (the workers and Redis run detached).
        const onHup = () => onSignal('SIGHUP');
        process.on('SIGINT', onInt);
        process.on('SIGTERM', onTerm);
        process.on('SIGHUP', onHup);
        try {
          // Extra job modules load here too (the scheduler runs in this process) and fail before
          // anything starts when they are broken.
          const { loadJobTypes } = await import('../../jobs/load.js');
          await loadJobTypes(cfg, process.cwd());
          const { startUp } = await import('../../runtime/up.js');
          const globalArgs: string[] = [];
          if (globals.config) globalArgs.push('--config', globals.config);
          if (globals.envFile) globalArgs.push('--env-file', globals.envFile);
          if (globals.redisUrl) globalArgs.push('--redis-url', globals.redisUrl);
          if (globals.verbose) globalArgs.push('--verbose');
          const up = await startUp(cfg, {
            cwd: process.cwd(),
            workers: flags.workers ?? 1,
            concurrency: flags.concurrency ?? 3,
            queues:
              flags.queue !== undefined
                ? flags.queue
                    .split(',')
                    .map((s) => s.trim())
                    .filter(Boolean)
                : [...cfg.worker.queues],
            scheduler: flags.scheduler,
            workerCommand: { command: process.execPath, args: [process.argv[1], 'worker', ...globalArgs], env: process.env },
            embedded: { preferredPort: flags.redisPort, searchPath: process.env.PATH },
            statusIntervalMs: flags.statusInterval ?? (tty ? 1000 : 10_000),
            log,
            onStatus: (s) => {
              if (!tty) {
                write({ event: 'status', ...s });
                return;
              }
              const queues = s.queues.map((q) => `${q.name} ${q.waiting} waiting/${q.active} active${q.delayed ? `/${q.delayed} delayed` : ''}`).join(', ');
              const line = `${out.c.bold('status')} workers ${s.workers} · processed ${out.c.green(String(s.processed))} · failed ${s.failed ? out.c.red(String(s.failed)) : 0}${s.retried ? ` · retried ${s.retried}` : ''} · ${queues}${s.cacheKeys !== null ? ` · cache keys ${s.cacheKeys}` : ''}${s.redisOk ? '' : ` · ${out.c.red('redis unreachable')}`}`;
              const width = process.stdout.columns || 120;
              clearLine();
              // Plain text may be cut to the terminal width; colour codes do not count.
              statusLine = line.length > width + 40 ? `${line.slice(0, width + 30)}…` : line;
              process.stdout.write(statusLine);
            },
          });
          const { info } = up;
          closeUp = () => void up.close();
          if (signals > 0) closeUp();
          const r = info.redis;
          if (tty) {
            clearLine();
            out.line(
              out.kv([
                ['redis', `${r.url}${r.embedded ? ` (embedded, pid ${r.pid}${r.adopted ? ', adopted' : ''}, data ${r.dataDir})` : ''}`],
                ['queues', info.queues.join(', ')],
                ['workers', `${info.workers.count} process${info.workers.count === 1 ? '' : 'es'} × concurrency ${info.workers.concurrency}`],
                ['scheduler', info.scheduler],
                ...info.nextRuns.map((n): [string, string] => [`  next ${n.name}`, n.next]),
              ]),
            );
            if (r.embedded) out.line(out.c.dim(`other shells: REDIS_URL=redis://127.0.0.1:${r.port}/0 REDIS_PASSWORD="$(cat ${r.passwordFile})" rqctl …`));
            out.line(out.c.dim('Ctrl-C stops everything'));
            if (statusLine) process.stdout.write(statusLine);
          } else {
            write({ event: 'ready', msg: `rqctl up: ${r.url}`, ...info });
          }
          const code = await up.done;
          clearLine();
          if (tty && statusLine) process.stdout.write('\n');
          return code;
        } finally {
          process.off('SIGINT', onInt);
          process.off('SIGTERM', onTerm);
          process.off('SIGHUP', onHup);
        }
      }),
    );
}
