import type { Command } from 'commander';
import { withQueueClient } from '../clients.js';
import { action, collectParam, durationOption, intOption } from '../context.js';
import { usageError } from '../../errors.js';
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
    .option('--delay <duration>', 'run no earlier than this from now (10s, 5m)', durationOption('--delay', { max: 365 * 86_400_000 }))
    .option('--tries <n>', "attempts (default: the job type's, 3)", intOption('--tries', 1, 1000))
    .option('--backoff <seconds>', "fixed wait between attempts (default: the job type's, 60)", backoffOption)
    .option('--wait', 'wait until the job completed (exit 0) or failed (exit 4)')
    .option('--timeout <duration>', 'with --wait: how long to wait (default 60s; exit 4 when it runs out)', durationOption('--timeout', { min: 1000 }))
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
      action(async (ctx, job: string, method: string | undefined, flags: DispatchFlags) => {
        if (flags.timeout !== undefined && !flags.wait) throw usageError('--timeout only applies with --wait');
        const config = await ctx.config();
        const [{ loadJobTypes }, { prepareDispatch, dispatch, waitOutcomeError }, view] = await Promise.all([
          import('../../jobs/load.js'),
          import('../../jobs/dispatch.js'),
          import('../render/dispatch.js'),
        ]);
        // The bundled job types and the operator's extra job modules (RQCTL_EXTRA_JOBS).
        await loadJobTypes(config, process.cwd());
        // Validated before anything connects: a bad payload is exit 2 with Redis up or down.
        const prepared = prepareDispatch(config, {
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
        const r = await withQueueClient(ctx, (client) =>
          dispatch(config, prepared, { client, waitMs, onWaiting: (d) => view.printWaiting(ctx.out, d, waitMs!) }),
        );
        view.printDispatch(ctx.out, r);
        const failure = waitOutcomeError(r, waitMs);
        if (failure) throw failure;
      }),
    );
}
