import type { Command } from 'commander';
import { withRoleDbClient } from '../clients.js';
import { action, intOption, type CommandContext } from '../context.js';
import { usageError } from '../../errors.js';

/** Commands of the "keys" group. Keep this file light: import core modules inside the actions. */

interface TargetOptions {
  role?: string;
  db?: number;
}

interface ListOptions extends TargetOptions {
  type?: string;
  long?: boolean;
  limit?: number;
  count?: number;
}

interface BigOptions extends TargetOptions {
  type?: string;
  top?: number;
  interval?: number;
  maxKeys?: number;
}

const BUILTIN_TYPES = ['string', 'list', 'set', 'zset', 'hash', 'stream'];

/** A typo such as `--type strng` would silently list nothing: refuse odd names, warn on module types. */
function checkType(ctx: CommandContext, type: string | undefined): void {
  if (type === undefined || BUILTIN_TYPES.includes(type)) return;
  if (!/^[A-Za-z0-9_-]+$/.test(type)) throw usageError(`--type must be a type name such as ${BUILTIN_TYPES.join(', ')} (got "${type}")`);
  ctx.out.warn(`--type ${type} is not a built-in type (${BUILTIN_TYPES.join(', ')}); only module types of that name will match`);
}

/** `keys show|big --role R --db N` or `keys --role R show …`: the subcommand's own flags win over the group's. */
function withGroupFlags<T extends TargetOptions>(ctx: CommandContext, opts: T): T {
  const own = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined));
  return { ...ctx.command.optsWithGlobals(), ...own } as T;
}

export function register(program: Command): void {
  const keys = registerList(program);
  registerShow(keys);
  registerBig(keys);
}

function registerList(program: Command): Command {
  return program
    .command('keys')
    .description('list keys with SCAN (never KEYS), streamed, one per line like `redis-cli --scan`; binary bytes as \\xhh')
    .argument('[pattern]', 'glob pattern (SCAN MATCH, e.g. "stock_quote_*"); \\xhh stands for a byte')
    .option('--role <role>', 'queue, cache or session (default: queue)')
    .option('--db <n>', "DB number on the role's server (overrides the role's DB)", intOption('--db', 0, 15))
    .option('--type <type>', 'only keys of this type: string, list, set, zset, hash, stream')
    .option('-l, --long', 'add type, TTL (seconds, -1 = none) and MEMORY USAGE (bytes) before each key')
    .option('--limit <n>', 'stop after N keys (default: no limit)', intOption('--limit', 1))
    .option('--count <n>', 'SCAN COUNT hint: keys examined per step (default 1000)', intOption('--count', 1, 100_000))
    .addHelpText(
      'after',
      '\nOutput: one key per line (pipe it: `rqctl keys | wc -l`). --json: one object per line {"key","type","ttl","bytes"}.\n' +
        'Keys are printed escaped: printable text as is, "\\" as "\\\\", control and non-UTF-8 bytes as \\xhh (like redis-cli);\n' +
        '`keys show`, `cache get` and `cache forget` accept that form back.',
    )
    .action(
      action(async (ctx, pattern: string | undefined, opts: ListOptions) => {
        checkType(ctx, opts.type);
        const [{ parseRole }, { listKeys }, { patternBytes }, { StdoutStream }, { interruptSignal }, { formatKeyBatch }] = await Promise.all([
          import('../../redis/target.js'),
          import('../../redis/keys.js'),
          import('../../redis/keyname.js'),
          import('../stream.js'),
          import('../signals.js'),
          import('../render/keys.js'),
        ]);
        const role = parseRole(opts.role, 'queue');
        const format = { json: ctx.out.json, long: !!opts.long };
        const match = pattern === undefined ? undefined : patternBytes(pattern);
        return withRoleDbClient(
          ctx,
          role,
          opts.db,
          async (client) => {
            const sink = new StdoutStream();
            const irq = interruptSignal();
            try {
              const batches = listKeys(client, {
                match,
                type: opts.type,
                limit: opts.limit,
                count: opts.count,
                details: format.long || format.json,
                signal: irq.signal,
              });
              for await (const batch of batches) if (!(await sink.write(formatKeyBatch(batch, format)))) break;
            } finally {
              irq.dispose();
            }
            return irq.interrupted() ? 130 : undefined;
          },
          'rqctl-keys',
        );
      }),
    );
}

function registerShow(keys: Command): void {
  keys
    .command('show')
    .description('one key in detail: type, TTL, size, MEMORY USAGE, OBJECT ENCODING, and a bounded preview of its value')
    .argument('<key>', 'the key as `rqctl keys` prints it (\\xhh for binary bytes)')
    .option('--role <role>', 'queue, cache or session (default: queue)')
    .option('--db <n>', "DB number (overrides the role's DB)", intOption('--db', 0, 15))
    .addHelpText('after', '\nA key that does not exist exits 4.')
    .action(
      action(async (ctx, keyText: string, opts: TargetOptions) => {
        const o = withGroupFlags(ctx, opts);
        const [{ parseRole }, { showKey }, { printKeyDescription }] = await Promise.all([
          import('../../redis/target.js'),
          import('../../redis/inspect.js'),
          import('../render/keys.js'),
        ]);
        const role = parseRole(o.role, 'queue');
        const desc = await withRoleDbClient(
          ctx,
          role,
          o.db,
          (client, config) => showKey(client, keyText, `${role} role, DB ${o.db ?? config.roles[role].db}`),
          'rqctl-keys',
        );
        printKeyDescription(ctx.out, desc);
      }),
    );
}

function registerBig(keys: Command): void {
  keys
    .command('big')
    .description('the largest keys by MEMORY USAGE, like `redis-cli --memkeys` (full SCAN, paced)')
    .argument('[pattern]', 'only keys matching this glob')
    .option('--role <role>', 'queue, cache or session (default: queue)')
    .option('--db <n>', "DB number (overrides the role's DB)", intOption('--db', 0, 15))
    .option('--type <type>', 'only keys of this type')
    .option('--top <n>', 'how many keys to show (default 10)', intOption('--top', 1, 10_000))
    .option('--interval <ms>', 'pause between SCAN batches of 500 keys, ms (default 2; 0 = none)', intOption('--interval', 0, 10_000))
    .option('--max-keys <n>', 'look at no more than N keys (a sample of a huge keyspace)', intOption('--max-keys', 1))
    .action(
      action(async (ctx, pattern: string | undefined, opts: BigOptions) => {
        const o = withGroupFlags(ctx, opts);
        checkType(ctx, o.type);
        const [{ parseRole }, { findBigKeys }, { patternBytes }, { interruptSignal }, { printBigKeys }] = await Promise.all([
          import('../../redis/target.js'),
          import('../../redis/bigkeys.js'),
          import('../../redis/keyname.js'),
          import('../signals.js'),
          import('../render/keys.js'),
        ]);
        const role = parseRole(o.role, 'queue');
        const progress = ctx.out.progress();
        const scan = { match: pattern === undefined ? undefined : patternBytes(pattern), type: o.type, top: o.top, intervalMs: o.interval, maxKeys: o.maxKeys };
        const { report, interrupted } = await withRoleDbClient(
          ctx,
          role,
          o.db,
          async (client) => {
            const irq = interruptSignal();
            try {
              const report = await findBigKeys(client, { ...scan, signal: irq.signal, onProgress: (n) => progress.update(`scanned ${n} keys…`) });
              return { report, interrupted: irq.interrupted() };
            } finally {
              irq.dispose();
              progress.clear();
            }
          },
          'rqctl-keys',
        );
        printBigKeys(ctx.out, report, interrupted);
        if (interrupted) return 130;
      }),
    );
}
