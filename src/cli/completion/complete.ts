import type { Argument, Command, Option } from 'commander';

/**
 * Shell completion computed from the commander program itself (docs/commands.md), so it can never
 * disagree with the CLI: `rqctl __complete -- <words…>` gets the words typed after `rqctl`, the last
 * one being the word under the cursor (maybe empty), and answers with what may come there.
 *
 * Values that depend on the installation (job types, queue names, schedule entries, cache tags)
 * come from a ValueSource, which reads the config and Redis with a short timeout.
 */

/** What the shell does with the answer: offer these words, or complete file names. */
export type Directive = 'words' | 'files';

export interface Candidate {
  value: string;
  description?: string;
}

export interface Completion {
  directive: Directive;
  candidates: Candidate[];
}

/** The dynamic values, by what they are. Each may answer nothing (Redis unreachable, bad config). */
export interface ValueSource {
  jobs(): Promise<Candidate[]>;
  methods(job: string): Promise<Candidate[]>;
  queues(): Promise<Candidate[]>;
  scheduleEntries(): Promise<Candidate[]>;
  cacheTags(): Promise<Candidate[]>;
}

/** The global options that decide where dynamic values come from, as typed on the line. */
export interface TypedGlobals {
  config?: string;
  envFile?: string;
  redisUrl?: string;
}

const FIXED: Record<string, string[]> = {
  role: ['queue', 'cache', 'session'],
  topology: ['split', 'single'],
  format: ['table', 'json', 'sarif'],
  type: ['string', 'list', 'set', 'zset', 'hash', 'stream'],
  status: ['scheduled', 'active', 'ended'],
  shell: ['bash', 'zsh', 'fish'],
};

/** What a value is, from its placeholder (`--queue <names>`) or argument name (`<job>`). */
type ValueKind = { kind: 'files' } | { kind: 'list'; values: string[] } | { kind: 'dynamic'; what: keyof ValueSource; commaList?: boolean } | { kind: 'none' };

function valueKind(name: string, choices?: readonly string[]): ValueKind {
  if (choices?.length) return { kind: 'list', values: [...choices] };
  if (FIXED[name]) return { kind: 'list', values: FIXED[name] };
  if (['file', 'files', 'dir', 'path'].includes(name)) return { kind: 'files' };
  if (name === 'names') return { kind: 'dynamic', what: 'queues', commaList: true };
  if (name === 'queue' || name === 'queues') return { kind: 'dynamic', what: 'queues' };
  if (name === 'job' || name === 'Job') return { kind: 'dynamic', what: 'jobs' };
  if (name === 'method') return { kind: 'dynamic', what: 'methods' };
  if (name === 'entry' || name === 'entries') return { kind: 'dynamic', what: 'scheduleEntries' };
  if (name === 'tag') return { kind: 'dynamic', what: 'cacheTags' };
  return { kind: 'none' };
}

/** `--queue <names>` → `names`. */
function placeholder(opt: Option): string {
  return /[<[]([^>\]]+)[>\]]/.exec(opt.flags)?.[1]?.replace(/\.\.\.$/, '') ?? '';
}

function takesValue(opt: Option): boolean {
  return opt.required || opt.optional;
}

/** The command and its ancestors, nearest first: a command accepts its parents' options too. */
function lineage(cmd: Command): Command[] {
  const out: Command[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) out.push(c);
  return out;
}

function findOption(cmd: Command, flag: string): Option | undefined {
  for (const c of lineage(cmd)) {
    const o = c.options.find((x) => x.long === flag || x.short === flag);
    if (o) return o;
  }
  return undefined;
}

/** The subcommands `--help` lists, without commander's implicit `help` command. */
function visibleCommands(cmd: Command): Command[] {
  return cmd
    .createHelp()
    .visibleCommands(cmd)
    .filter((c) => c.name() !== 'help' || c.description() !== 'display help for command');
}

function findCommand(cmd: Command, word: string): Command | undefined {
  return visibleCommands(cmd).find((c) => c.name() === word || c.aliases().includes(word));
}

/** Where the words leave the cursor: in which command, after which positionals, in which option's value. */
interface Position {
  cmd: Command;
  positionals: string[];
  used: Set<Option>;
  /** The option whose value the current word is (`--queue <TAB>`). */
  valueFor?: Option;
  afterDashDash: boolean;
  globals: TypedGlobals;
}

function locate(program: Command, done: string[]): Position {
  const pos: Position = { cmd: program, positionals: [], used: new Set(), afterDashDash: false, globals: {} };
  for (let i = 0; i < done.length; i++) {
    const w = done[i];
    if (!pos.afterDashDash && w === '--') {
      pos.afterDashDash = true;
      continue;
    }
    if (!pos.afterDashDash && w.length > 1 && w.startsWith('-')) {
      const eq = w.indexOf('=');
      const opt = findOption(pos.cmd, eq > 0 ? w.slice(0, eq) : w);
      if (!opt) continue;
      pos.used.add(opt);
      let value = eq > 0 ? w.slice(eq + 1) : undefined;
      if (value === undefined && opt.required) {
        if (i + 1 < done.length) value = done[++i];
        else pos.valueFor = opt;
      }
      if (value !== undefined) recordGlobal(pos.globals, opt, value);
      continue;
    }
    if (!pos.afterDashDash && pos.positionals.length === 0) {
      const sub = findCommand(pos.cmd, w);
      if (sub) {
        pos.cmd = sub;
        continue;
      }
    }
    pos.positionals.push(w);
  }
  return pos;
}

function recordGlobal(globals: TypedGlobals, opt: Option, value: string): void {
  const name = opt.attributeName();
  if (name === 'config' || name === 'envFile' || name === 'redisUrl') globals[name] = value;
}

export async function complete(program: Command, words: string[], values: (globals: TypedGlobals) => ValueSource): Promise<Completion> {
  const current = words.length ? words[words.length - 1] : '';
  const pos = locate(program, words.slice(0, -1));
  const source = () => values(pos.globals);
  if (pos.valueFor) return valueCandidates(valueKind(placeholder(pos.valueFor), pos.valueFor.argChoices), current, '', pos, source);
  if (!pos.afterDashDash && current.startsWith('-')) {
    const eq = current.indexOf('=');
    if (eq > 0) {
      const opt = findOption(pos.cmd, current.slice(0, eq));
      if (!opt || !takesValue(opt)) return { directive: 'words', candidates: [] };
      return valueCandidates(valueKind(placeholder(opt), opt.argChoices), current.slice(eq + 1), current.slice(0, eq + 1), pos, source);
    }
    return { directive: 'words', candidates: filter(flagCandidates(pos), current) };
  }
  const subcommands =
    pos.positionals.length === 0 && !pos.afterDashDash
      ? visibleCommands(pos.cmd).map((c) => ({ value: c.name(), description: c.description().split('\n')[0] }))
      : [];
  const arg = argumentAt(pos.cmd, pos.positionals.length);
  if (!arg) return { directive: 'words', candidates: filter(subcommands, current) };
  const kind = valueKind(arg.name(), arg.argChoices);
  const own = await valueCandidates(kind, current, '', pos, source);
  if (own.directive === 'files' && subcommands.length === 0) return own;
  return { directive: 'words', candidates: [...filter(subcommands, current), ...own.candidates] };
}

/** The command's argument at index `n` (a variadic last one takes every further word). */
function argumentAt(cmd: Command, n: number): Argument | undefined {
  const args = cmd.registeredArguments;
  if (n < args.length) return args[n];
  const last = args[args.length - 1];
  return last?.variadic ? last : undefined;
}

function flagCandidates(pos: Position): Candidate[] {
  const out: Candidate[] = [];
  const seen = new Set<string>();
  for (const c of lineage(pos.cmd)) {
    for (const o of c.createHelp().visibleOptions(c)) {
      const flag = o.long ?? o.short;
      if (!flag || seen.has(flag)) continue;
      seen.add(flag);
      // Once given, an option is not offered again, unless it collects values (--param k=v …).
      if (pos.used.has(o) && !o.variadic && !/(k=v|key=value|<file>)/.test(o.flags)) continue;
      out.push({ value: flag, description: o.description });
    }
  }
  return out;
}

async function valueCandidates(kind: ValueKind, current: string, lead: string, pos: Position, source: () => ValueSource): Promise<Completion> {
  if (kind.kind === 'files') return { directive: 'files', candidates: [] };
  if (kind.kind === 'none') return { directive: 'words', candidates: [] };
  if (kind.kind === 'list')
    return {
      directive: 'words',
      candidates: filter(
        kind.values.map((value) => ({ value: lead + value })),
        lead + current,
      ),
    };
  let found: Candidate[];
  if (kind.what === 'methods') {
    const job = pos.positionals[argumentIndex(pos.cmd, 'job')] ?? '';
    found = job ? await source().methods(job) : [];
  } else found = await (source()[kind.what] as () => Promise<Candidate[]>)();
  if (kind.commaList) {
    // `--queue default,em` → `default,emails`: the earlier names stay, each name once.
    const cut = current.lastIndexOf(',') + 1;
    const before = current.slice(0, cut);
    const taken = new Set(before.split(',').filter(Boolean));
    found = found.filter((c) => !taken.has(c.value)).map((c) => ({ ...c, value: before + c.value }));
  }
  return {
    directive: 'words',
    candidates: filter(
      found.map((c) => ({ ...c, value: lead + c.value })),
      lead + current,
    ),
  };
}

function argumentIndex(cmd: Command, name: string): number {
  return cmd.registeredArguments.findIndex((a) => a.name() === name);
}

function filter(candidates: Candidate[], prefix: string): Candidate[] {
  const seen = new Set<string>();
  return candidates.filter((c) => c.value.startsWith(prefix) && !seen.has(c.value) && seen.add(c.value));
}

/** The answer as the shell scripts read it: the directive, then one `value<TAB>description` per line. */
export function formatCompletion(c: Completion): string {
  const lines = [c.directive, ...c.candidates.map((x) => (x.description ? `${x.value}\t${x.description.replace(/\s+/g, ' ')}` : x.value))];
  return `${lines.join('\n')}\n`;
}
