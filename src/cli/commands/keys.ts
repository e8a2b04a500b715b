import type { Command } from 'commander';
import { action, intOption, type CommandContext } from '../context.js';

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
async function typeOption(ctx: CommandContext, type: string | undefined): Promise<void> {
  if (type === undefined || BUILTIN_TYPES.includes(type)) return;
  if (!/^[A-Za-z0-9_-]+$/.test(type)) {
    const { usageError } = await import('../../errors.js');
    throw usageError(`--type must be a type name such as ${BUILTIN_TYPES.join(', ')} (got "${type}")`);
  }
  ctx.out.warn(`--type ${type} is not a built-in type (${BUILTIN_TYPES.join(', ')}); only module types of that name will match`);
}

export function register(program: Command): void {
  const keys = program
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
        await typeOption(ctx, opts.type);
        const { parseRole, connectRoleDb } = await import('../../redis/target.js');
        const { listKeys } = await import('../../redis/keys.js');
        const { escapeKey, patternBytes } = await import('../../redis/keyname.js');
        const { closeClient } = await import('../../redis/connect.js');
        const [{ StdoutStream }, { interruptSignal }] = await Promise.all([import('../stream.js'), import('../signals.js')]);
        const role = parseRole(opts.role, 'queue');
        const config = await ctx.config();
        const client = await connectRoleDb(config, role, opts.db, 'rqctl-keys');
        const sink = new StdoutStream();
        const irq = interruptSignal();
        const json = ctx.out.json;
        const details = !!opts.long || json;
        try {
          const stream = listKeys(client, {
            match: pattern === undefined ? undefined : patternBytes(pattern),
            type: opts.type,
            limit: opts.limit,
            count: opts.count,
            details,
            signal: irq.signal,
          });
          for await (const batch of stream) {
            let text = '';
            for (const e of batch) {
              const key = escapeKey(e.key);
              if (json) {
                const o: Record<string, unknown> = { key, type: e.type, ttl: e.ttl, bytes: e.bytes };
                if (!Buffer.from(key, 'utf8').equals(e.key)) o.keyBase64 = e.key.toString('base64');
                text += `${JSON.stringify(o)}\n`;
              } else if (details) {
                text += `${String(e.type).padEnd(6)} ${String(e.ttl).padStart(8)} ${String(e.bytes ?? '?').padStart(10)}  ${key}\n`;
              } else text += `${key}\n`;
            }
            if (!(await sink.write(text))) break;
          }
        } finally {
          irq.dispose();
          await closeClient(client);
        }
        if (irq.interrupted()) return 130;
      }),
    );

  keys
    .command('show')
    .description('one key in detail: type, TTL, size, MEMORY USAGE, OBJECT ENCODING, and a bounded preview of its value')
    .argument('<key>', 'the key as `rqctl keys` prints it (\\xhh for binary bytes)')
    .option('--role <role>', 'queue, cache or session (default: queue)')
    .option('--db <n>', "DB number (overrides the role's DB)", intOption('--db', 0, 15))
    .addHelpText('after', '\nA key that does not exist exits 4.')
    .action(
      action(async (ctx, keyText: string, opts: TargetOptions) => {
        const o = { ...ctx.command.optsWithGlobals(), ...stripUndefined(opts) } as TargetOptions;
        const { parseRole, connectRoleDb } = await import('../../redis/target.js');
        const { describeKey } = await import('../../redis/inspect.js');
        const { keyCandidates } = await import('../../redis/keyname.js');
        const { closeClient } = await import('../../redis/connect.js');
        const { keyNotFound } = await import('../../cache/values.js');
        const { formatBytes } = await import('../../util/bytes.js');
        const role = parseRole(o.role, 'queue');
        const config = await ctx.config();
        const client = await connectRoleDb(config, role, o.db, 'rqctl-keys');
        let d: Awaited<ReturnType<typeof describeKey>> = null;
        try {
          for (const k of keyCandidates(keyText)) if ((d = await describeKey(client, k))) break;
        } finally {
          await closeClient(client);
        }
        if (!d) throw keyNotFound(keyText, `${role} role, DB ${o.db ?? config.roles[role].db}`);
        const desc = d;
        const { out } = ctx;
        out.result(desc, () => {
          out.line(
            out.kv([
              ['key', desc.key],
              ['type', desc.type],
              ['ttl', desc.ttl < 0 ? 'none (no expiry)' : `${desc.ttl} s`],
              ['size', desc.size === null ? null : `${desc.size} ${desc.type === 'string' ? 'bytes' : desc.type === 'hash' ? 'fields' : 'elements'}`],
              ['memory', desc.bytes === null ? null : `${formatBytes(desc.bytes)} (${desc.bytes} bytes)`],
              ['encoding', desc.encoding],
              ['idle', desc.idleSeconds === null ? null : `${desc.idleSeconds} s`],
              ...(desc.groups !== undefined ? ([['groups', desc.groups]] as [string, number][]) : []),
            ]),
          );
          if (desc.preview.length) {
            out.line(out.c.dim(desc.truncated ? `preview (first ${desc.preview.length}${desc.type === 'string' ? ' part' : ''}):` : 'value:'));
            for (const p of desc.preview) {
              if (typeof p === 'string') out.line(`  ${p}`);
              else if ('field' in p) out.line(`  ${p.field} => ${p.value}`);
              else if ('member' in p) out.line(`  ${p.score}  ${p.member}`);
              else
                out.line(
                  `  ${p.id}  ${Object.entries(p.fields)
                    .map(([k, v]) => `${k}=${v}`)
                    .join(' ')}`,
                );
            }
          }
        });
      }),
    );

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
        const o = { ...ctx.command.optsWithGlobals(), ...stripUndefined(opts) } as BigOptions;
        await typeOption(ctx, o.type);
        const { parseRole, connectRoleDb } = await import('../../redis/target.js');
        const { findBigKeys } = await import('../../redis/bigkeys.js');
        const { patternBytes } = await import('../../redis/keyname.js');
        const { closeClient } = await import('../../redis/connect.js');
        const { interruptSignal } = await import('../signals.js');
        const { formatBytes } = await import('../../util/bytes.js');
        const role = parseRole(o.role, 'queue');
        const config = await ctx.config();
        const client = await connectRoleDb(config, role, o.db, 'rqctl-keys');
        const irq = interruptSignal();
        const { out } = ctx;
        let lastProgress = 0;
        const progress = out.stderrIsTTY && !out.quiet;
        let report: Awaited<ReturnType<typeof findBigKeys>>;
        try {
          report = await findBigKeys(client, {
            match: pattern === undefined ? undefined : patternBytes(pattern),
            type: o.type,
            top: o.top,
            intervalMs: o.interval,
            maxKeys: o.maxKeys,
            signal: irq.signal,
            onProgress: (n) => {
              if (progress && Date.now() - lastProgress > 200) {
                lastProgress = Date.now();
                process.stderr.write(`\rscanned ${n} keys…`);
              }
            },
          });
        } finally {
          irq.dispose();
          if (progress) process.stderr.write('\r\x1b[K');
          await closeClient(client);
        }
        const r = report;
        out.result({ ...r, interrupted: irq.interrupted() }, () => {
          if (!r.memoryAvailable) out.warn('the server refused MEMORY USAGE (ACL or old Redis): sizes are unknown');
          out.line(
            out.table(
              ['#', 'memory', 'bytes', 'type', 'ttl', 'key'],
              r.keys.map((k, i) => [i + 1, formatBytes(k.bytes), k.bytes, k.type, k.ttl < 0 ? '-' : k.ttl, k.key]),
            ),
          );
          out.line('');
          out.line(
            out.table(
              ['type', 'keys', 'memory', 'share'],
              Object.entries(r.byType)
                .sort((a, b) => b[1].bytes - a[1].bytes)
                .map(([t, v]) => [t, v.keys, formatBytes(v.bytes), r.totalBytes ? `${((v.bytes / r.totalBytes) * 100).toFixed(1)}%` : '-']),
            ),
          );
          out.info(
            `${r.scanned} keys scanned, ${formatBytes(r.totalBytes)} in total${r.partial ? ' (stopped at --max-keys: a sample)' : ''}${irq.interrupted() ? ' (interrupted)' : ''}`,
          );
        });
        if (irq.interrupted()) return 130;
      }),
    );
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
