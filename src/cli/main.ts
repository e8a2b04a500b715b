// First: what must happen before any dependency loads (see preload.ts).
import './preload.js';
import { Command, CommanderError, Option } from 'commander';
import { createRequire } from 'node:module';
import { ExitCode, isRqctlError, redisRefusal, RqctlError } from '../errors.js';
import { UnwritablePathError } from '../util/safe-write.js';
import { maskSecrets } from '../config/endpoints.js';
import { lastContext } from './context.js';
import { commandModules } from './commands/index.js';
import { exitRequested } from './signals.js';

const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };

export function buildProgram(): Command {
  const program = new Command('rqctl')
    .description('Run and operate a production Redis stack: BullMQ workers and scheduler, cache, sessions, deployment files and deploy.')
    .version(pkg.version, '--version', 'print the version')
    .option('--config <file>', 'config file (default: rqctl.config.yaml in the working directory)')
    .option('--env-file <file>', 'dotenv file (default: .env in the working directory)')
    .option('--redis-url <url>', 'Redis URL for all roles (prefer REDIS_PASSWORD to a password here: URLs show in ps)')
    .option('--json', 'machine-readable output on stdout')
    .option('--no-color', 'no colour')
    .option('-v, --verbose', 'more detail, stack traces on errors')
    .option('-q, --quiet', 'less output')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  program.addHelpText(
    'after',
    '\nExit codes: 0 ok, 1 internal error, 2 usage or invalid configuration, 3 Redis or a service unreachable or auth refused, 4 a check found problems, 130 interrupted.',
  );
  for (const mod of commandModules) mod.register(program);
  return program;
}

function wantsJson(argv: string[]): boolean {
  return lastContext.globals.json ?? argv.includes('--json');
}

function wantsVerbose(argv: string[]): boolean {
  return lastContext.globals.verbose ?? (argv.includes('-v') || argv.includes('--verbose'));
}

/** The one place that turns an error into a message and an exit code. */
export function reportError(err: unknown, argv: string[]): number {
  // A Redis refusal (OOM, READONLY, NOPERM…) that reached here unexplained is still not a bug in rqctl.
  err = redisRefusal(err) ?? err;
  // A write rqctl refused (a symbolic link, a missing directory): bad input, nothing written.
  if (err instanceof UnwritablePathError) err = new RqctlError('UNSAFE_PATH', ExitCode.usage, err.message, { hint: err.hint });
  const json = wantsJson(argv);
  const verbose = wantsVerbose(argv);
  if (err instanceof CommanderError) {
    if (err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
    // Commander has already printed its message on stderr.
    if (json)
      process.stderr.write(
        `${JSON.stringify({ error: { code: 'USAGE', message: err.message.replace(/^error: /, ''), hint: 'run with --help for usage' } })}\n`,
      );
    return ExitCode.usage;
  }
  if (isRqctlError(err)) {
    if (json) process.stderr.write(`${maskSecrets(JSON.stringify({ error: err.toJSON() }))}\n`);
    else {
      process.stderr.write(`${maskSecrets(`error: ${err.message}`)}\n`);
      if (err.hint) process.stderr.write(`${maskSecrets(`hint: ${err.hint}`)}\n`);
    }
    if (verbose && err.stack)
      process.stderr.write(`${maskSecrets(err.stack)}\n${err.cause instanceof Error && err.cause.stack ? maskSecrets(err.cause.stack) + '\n' : ''}`);
    return err.exitCode;
  }
  const e = err as Error;
  const message = `internal error: ${e?.message ?? String(err)}`;
  if (json)
    process.stderr.write(`${maskSecrets(JSON.stringify({ error: { code: 'INTERNAL', message, hint: 'run with -v for the stack trace and report it' } }))}\n`);
  else process.stderr.write(`${maskSecrets(message)}\n${verbose ? '' : 'hint: run with -v for the stack trace\n'}`);
  if (verbose && e?.stack) process.stderr.write(`${maskSecrets(e.stack)}\n`);
  return ExitCode.internal;
}

/**
 * ioredis prints "Skipping the ready check because INFO command fails…" with console.warn when an ACL
 * user may not run INFO. Not the operator's business (the command goes on), and a stray line on
 * stderr breaks `--json`'s one-JSON-error contract and the JSON log lines of workers.
 */
function silenceReadyCheckWarning(): void {
  const warn = console.warn.bind(console);
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].startsWith('Skipping the ready check because INFO command fails')) return;
    warn(...args);
  };
}

export async function run(argv: string[]): Promise<void> {
  silenceReadyCheckWarning();
  // `rqctl failed list | head`: a reader that goes away ends the command quietly, as SIGPIPE would
  // (Node ignores SIGPIPE and reports EPIPE as an error event instead).
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  const program = buildProgram();
  const finished = program.parseAsync(argv).then(
    () => undefined,
    (err: unknown) => {
      process.exitCode = reportError(err, argv);
      return undefined;
    },
  );
  // A command normally returns its exit code (set on process.exitCode) and the process ends once
  // every handle is closed. `exitNow()` (a second Ctrl-C, a worker that BullMQ will not release)
  // is the only way out before that, and it ends here.
  const forced = await Promise.race([finished, exitRequested]);
  if (forced !== undefined) process.exit(forced);
}

export { Option };
