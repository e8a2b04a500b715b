import type { Command } from 'commander';
import { action, collectParam, durationOption, intOption } from '../context.js';
import { ExitCode, RqctlError, usageError } from '../../errors.js';
import { parseDuration } from '../../util/duration.js';

interface DispatchFlags {
  param: Record<string, string>;
  data?: string;
  queue?: string;
  delay?: number;
  tries?: number;
  backoff?: number;
  wait?: boolean;
  timeout?: number;
}

/** `--backoff 60` (seconds) or `--backoff 1m`. */
function backoffOption(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms % 1000 !== 0) throw usageError(`--backoff must be whole seconds like 60 or 1m (got "${value}")`);
  return ms / 1000;
}

export function register(program: Command): void {
  program
    .command('dispatch <job> [method]')
    .description('enqueue one job; the payload is validated first (exit 2, nothing enqueued)')
    .option('--param <key=value>', 'a param (repeatable); coerced to its declared type', collectParam, {})
    .option('--data <json>', 'the payload (or its base) as a JSON object; --param and [method] go on top')
    .option('--queue <queue>', "another queue than the job type's")
    .option('--delay <duration>', 'run no earlier than this from now (10s, 5m)', durationOption('--delay'))
    .option('--tries <n>', "attempts (default: the job type's, 3)", intOption('--tries', 1, 1000))
    .option('--backoff <seconds>', "fixed wait between attempts (default: the job type's, 60)", backoffOption)
    .option('--wait', 'wait until the job completed (exit 0) or failed (exit 4)')
    .option('--timeout <duration>', 'with --wait: how long to wait (default 60s; exit 4 when it runs out)', durationOption('--timeout'))
    .addHelpText(
      'after',
      `
Examples:
  rqctl dispatch FetchCryptoData getCryptoList --param vs_currency=usd --param page=2
  rqctl dispatch FetchStockData getStockQuote --param symbol=AAPL --wait
  rqctl dispatch RefreshCryptoCache --wait --timeout 5m
  rqctl dispatch SendEmail new-inquiry --param name=Ann --param email=ann@example.com --param message=Hello
  rqctl dispatch SendEmail --data '{"template":"new-inquiry","data":{"name":"Ann","email":"ann@example.com","message":"Hi"}}'

--json prints {"id","queue","name"} (with --wait also "state", "returnvalue" or "failedReason").`,
    )
    .action(
      action(async ({ out, config }, job: string, method: string | undefined, flags: DispatchFlags) => {
        if (flags.timeout !== undefined && !flags.wait) throw usageError('--timeout only applies with --wait');
        const cfg = await config();
        // The bundled job types and the operator's extra job modules (RQCTL_EXTRA_JOBS).
        const { loadJobTypes } = await import('../../jobs/load.js');
        await loadJobTypes(cfg, process.cwd());
        const { prepareDispatch, dispatch } = await import('../../jobs/dispatch.js');
        const prepared = prepareDispatch(cfg, {
          job,
          method,
          params: flags.param,
          data: flags.data,
          queue: flags.queue,
          delayMs: flags.delay,
          tries: flags.tries,
          backoffSeconds: flags.backoff,
        });
        const waitMs = flags.wait ? (flags.timeout ?? 60_000) : undefined;
        const r = await dispatch(cfg, prepared, {
          waitMs,
          onWaiting: (d) => out.info(`dispatched ${d.name} job ${d.id} on queue ${d.queue}; waiting up to ${Math.round(waitMs! / 1000)} s for it to finish…`),
        });
        if (!('state' in r)) {
          out.result(r, () => {
            out.line(`dispatched ${r.name} job ${r.id} on queue ${r.queue}${r.delayMs ? ` (runs in ${Math.round(r.delayMs / 1000)} s)` : ''}`);
            if (r.key) out.line(`cache key: ${r.key}`);
          });
          return;
        }
        out.result(r, () => {
          if (r.state !== 'completed') return;
          const took = r.durationMs !== undefined ? ` in ${(r.durationMs / 1000).toFixed(1)} s` : '';
          out.line(`job ${r.id} (${r.name}) completed${took}${r.attemptsMade && r.attemptsMade > 1 ? ` after ${r.attemptsMade} attempts` : ''}`);
          if (r.returnvalue !== undefined && r.returnvalue !== null)
            out.line(typeof r.returnvalue === 'string' ? r.returnvalue : JSON.stringify(r.returnvalue));
        });
        if (r.state === 'failed') {
          const attempts = r.attemptsMade ? ` after ${r.attemptsMade} attempt${r.attemptsMade === 1 ? '' : 's'}` : '';
          throw new RqctlError('JOB_FAILED', ExitCode.checkFailed, `job ${r.id} (${r.name}) failed${attempts}: ${r.failedReason ?? 'no reason recorded'}`, {
            hint: `\`rqctl failed show ${r.id}\` has the details; \`rqctl failed retry ${r.id}\` runs it again`,
          });
        }
        if (r.state === 'timeout') {
          throw new RqctlError(
            'WAIT_TIMEOUT',
            ExitCode.checkFailed,
            `job ${r.id} (${r.name}) did not finish within ${Math.round(waitMs! / 1000)} s (it is ${r.jobState}; it stays queued)`,
            {
              hint:
                r.jobState === 'waiting' || r.jobState === 'prioritized'
                  ? `is a worker consuming queue "${r.queue}"? (\`rqctl workers\`)`
                  : 'wait longer with --timeout',
            },
          );
        }
      }),
    );
}
