import { COMMANDS, type DirectiveSpec } from './redis-directives.js';
import { judgeDirectiveName, specOf, UNKNOWN_VERSION, type ServerVersion } from './redis-versions.js';

/**
 * redis.conf, read the way redis-server 7.0 reads it (config.c): one directive per line, words split by
 * sdssplitargs (double quotes with \n \xHH escapes, single quotes, a closing quote must end the word),
 * whole-line `#` comments only. The command line (`redis-server FILE --name value …`) is the same
 * language: each `--name` starts a directive whose arguments follow it.
 */
export interface RedisArg {
  value: string;
  /** Written inside quotes (a quoted "#" is not a comment). */
  quoted?: boolean;
  /** The text before compose interpolation, when it came from a compose file. */
  raw?: string;
  line?: number;
  /**
   * Why the value is not known here (an unset `${VAR}`, an env_file that was not read): the value is
   * then empty text, and rules must not judge it as empty.
   */
  unknown?: string;
}

export interface RedisDirective {
  name: string;
  args: RedisArg[];
  file: string;
  line: number;
  /** `maxmemory-policy` (redis.conf) or `services.redis.command[3]` (compose). */
  path: string;
  source: 'conf' | 'flag' | 'env';
}

export interface RedisConfProblem {
  line: number;
  path: string;
  message: string;
  /** `warning`: refused by some versions only, and the server's version is not known exactly. */
  severity?: 'warning';
}

/** Directives whose value is a secret: their lines are never quoted in a finding. */
const SECRET_DIRECTIVES = new Set(['requirepass', 'masterauth', 'primaryauth', 'tls-key-file-pass', 'tls-client-key-file-pass']);

/** A directive name as a finding may show it: only when it looks like one (a stray line may hold anything, e.g. a password). */
export function shownName(name: string): string {
  return /^[a-z0-9][a-z0-9_.-]{0,63}$/i.test(name) ? name : '(not a directive name)';
}

/** A redis.conf line (or flag) as a finding may quote it: secret values become ***. */
export function shownLine(name: string, args: readonly { value: string; quoted?: boolean }[]): string {
  const safe = shownName(name);
  if (safe !== name) return '(a line that is not a directive, not shown)';
  const secret = SECRET_DIRECTIVES.has(name.toLowerCase());
  const words = args.map((a) => {
    if (secret || (name.toLowerCase() === 'user' && /^[<>#!]/.test(a.value))) return '***';
    return a.quoted || a.value === '' || /\s/.test(a.value) ? JSON.stringify(a.value) : a.value;
  });
  return [name, ...words].join(' ');
}

/** The first word of a line that could not be split, shown only when it is a directive name; the rest never. */
function shownUnsplit(text: string): string {
  const first = text.split(/\s+/)[0];
  const safe = shownName(first);
  return safe === first ? `${first}${text.length > first.length ? ' …' : ''}` : '(a line that is not a directive, not shown)';
}

export class SplitError extends Error {}

/** sdssplitargs(): the words of one line, or SplitError on unbalanced quotes. */
export function splitArgs(line: string): RedisArg[] {
  const out: RedisArg[] = [];
  let i = 0;
  const isSpace = (c: string | undefined) => c === ' ' || c === '\n' || c === '\r' || c === '\t' || c === '\v' || c === '\f';
  for (;;) {
    while (i < line.length && isSpace(line[i])) i++;
    if (i >= line.length) return out;
    let current = '';
    let inq = false;
    let insq = false;
    let quoted = false;
    let done = false;
    while (!done) {
      const c = line[i];
      if (inq) {
        if (c === undefined) throw new SplitError('unbalanced quotes');
        if (c === '\\' && line[i + 1] === 'x' && /^[0-9a-fA-F]{2}$/.test(line.slice(i + 2, i + 4))) {
          current += String.fromCharCode(parseInt(line.slice(i + 2, i + 4), 16));
          i += 3;
        } else if (c === '\\' && i + 1 < line.length) {
          i++;
          const e = line[i];
          current += e === 'n' ? '\n' : e === 'r' ? '\r' : e === 't' ? '\t' : e === 'b' ? '\b' : e === 'a' ? '\x07' : e;
        } else if (c === '"') {
          if (i + 1 < line.length && !isSpace(line[i + 1])) throw new SplitError('a closing quote must be followed by a space');
          done = true;
        } else current += c;
      } else if (insq) {
        if (c === undefined) throw new SplitError('unbalanced quotes');
        if (c === '\\' && line[i + 1] === "'") {
          i++;
          current += "'";
        } else if (c === "'") {
          if (i + 1 < line.length && !isSpace(line[i + 1])) throw new SplitError('a closing quote must be followed by a space');
          done = true;
        } else current += c;
      } else if (c === undefined || isSpace(c)) done = true;
      else if (c === '"') {
        inq = true;
        quoted = true;
      } else if (c === "'") {
        insq = true;
        quoted = true;
      } else current += c;
      if (i < line.length) i++;
    }
    out.push(quoted ? { value: current, quoted } : { value: current });
  }
}

/** Parses a redis.conf file into directives (in order) and the lines redis-server would refuse (or, by version, might). */
export function parseRedisConf(
  source: string,
  file: string,
  version: ServerVersion = UNKNOWN_VERSION,
): { directives: RedisDirective[]; problems: RedisConfProblem[] } {
  const directives: RedisDirective[] = [];
  const problems: RedisConfProblem[] = [];
  source.split('\n').forEach((rawLine, idx) => {
    const line = idx + 1;
    const text = rawLine.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
    if (!text || text.startsWith('#')) return;
    let words: RedisArg[];
    try {
      words = splitArgs(text);
    } catch (e) {
      const first = text.split(/\s+/)[0].toLowerCase();
      problems.push({
        line,
        path: shownName(first),
        message: `line ${line} "${shownUnsplit(text)}": ${(e as Error).message}; redis-server refuses to start ("Unbalanced quotes in configuration line")`,
      });
      return;
    }
    if (!words.length) return;
    const name = words[0].value.toLowerCase();
    const args = words.slice(1).map((a) => ({ ...a, line }));
    const d: RedisDirective = { name, args, file, line, path: shownName(name), source: 'conf' };
    const shown = shownLine(words[0].value, args);
    // `#<64 hex>` is an ACL password hash in a `user` line, not a comment.
    const comment = args.findIndex((a) => !a.quoted && a.value.startsWith('#') && !(name === 'user' && /^#[0-9a-fA-F]{64}$/.test(a.value)));
    if (comment >= 0) {
      const tail =
        SECRET_DIRECTIVES.has(name) || name === 'user'
          ? 'the words after the value'
          : `"${args
              .slice(comment)
              .map((a) => a.value)
              .join(' ')}"`;
      problems.push({
        line,
        path: d.path,
        message: `line ${line} "${shown}": ${tail} is not a comment — redis.conf has whole-line comments only, so redis-server reads it as more arguments and refuses to start`,
      });
      return;
    }
    const problem = checkDirective(d, version);
    if (problem?.severity === 'warning') problems.push({ line, path: d.path, message: `line ${line} "${shown}": ${problem.message}`, severity: 'warning' });
    // A refused line never takes effect (Redis does not start): the rules judge the rest.
    if (problem && problem.severity !== 'warning') problems.push({ line, path: d.path, message: `line ${line} "${shown}": ${problem.message}` });
    else directives.push(d);
  });
  return { directives, problems };
}

const MEMORY = /^\d+(b|k|kb|m|mb|g|gb)?$/i;

/**
 * What redis-server would say refusing this directive, or undefined when it accepts it; `severity:
 * 'warning'` when only some versions refuse it and the server's version is not known exactly.
 */
export function checkDirective(d: RedisDirective, version: ServerVersion = UNKNOWN_VERSION): { message: string; severity?: 'warning' } | undefined {
  const message = refusal(d, version);
  if (typeof message === 'string') return { message };
  return message;
}

function refusal(d: RedisDirective, version: ServerVersion): string | { message: string; severity: 'warning' } | undefined {
  const argc = d.args.length;
  const values = d.args.map((a) => a.value);
  switch (d.name) {
    case 'include':
      return argc === 1 ? undefined : 'include takes one file name';
    case 'rename-command':
      if (argc !== 2) return 'rename-command takes a command and a new name (use "" to disable it): wrong number of arguments';
      return COMMANDS.has(values[0].toLowerCase()) ? undefined : `no such command "${values[0]}" in rename-command`;
    case 'user':
      if (argc < 1) return 'user needs a name';
      for (const [i, rule] of values.slice(1).entries())
        if (!isAclRule(rule)) return `word ${i + 3} of this user line is not an ACL rule (Error in user declaration); a password needs a leading ">"`;
      return undefined;
    case 'loadmodule':
      return argc >= 1 ? undefined : 'loadmodule needs a path';
    case 'sentinel':
      return 'sentinel directives are only valid in a sentinel configuration (redis-sentinel)';
  }
  const verdict = judgeDirectiveName(d.name, shownName(d.name), version);
  if (!verdict.ok && verdict.severity === 'error') return verdict.message;
  const spec = specOf(d.name);
  if (!spec) return verdict.ok ? undefined : { message: verdict.message, severity: 'warning' };
  const valueProblem = valueRefusal(d, spec);
  if (valueProblem) return valueProblem;
  return verdict.ok ? undefined : { message: verdict.message, severity: 'warning' };
}

/** What redis-server says of a known directive's arguments, or undefined when it accepts them. */
function valueRefusal(d: RedisDirective, spec: DirectiveSpec): string | undefined {
  const argc = d.args.length;
  const values = d.args.map((a) => a.value);
  // Multi-argument directives accept their arguments as one quoted word too (`save "900 1"`).
  const words = spec.args === 'many' && argc === 1 && values[0] !== '' ? values[0].split(' ').filter(Boolean) : values;
  if (spec.args === 1 && argc !== 1) return `${d.name} takes exactly one argument, got ${argc}: wrong number of arguments`;
  const v = values[0] ?? '';
  switch (spec.kind) {
    case 'bool':
      return /^(yes|no)$/i.test(v) ? undefined : `${d.name}: argument must be 'yes' or 'no' (got "${v}")`;
    case 'enum': {
      const allowed = spec.values ?? [];
      const bad = (spec.multi ? words : [v]).find((w) => !allowed.includes(w.toLowerCase()));
      return bad === undefined ? undefined : `${d.name}: "${bad}" is not one of ${allowed.join(', ')}`;
    }
    case 'memory':
      return MEMORY.test(v) ? undefined : `${d.name}: "${v}" is not a memory value (e.g. 256mb, 1gb, 1000000)`;
    case 'int':
      return /^-?\d+$/.test(v) ? undefined : `${d.name}: "${v}" is not an integer`;
  }
  switch (d.name) {
    case 'save':
      if (argc === 1 && values[0] === '') return undefined;
      if (words.length === 0 || words.length % 2 !== 0 || words.some((w) => !/^\d+$/.test(w)))
        return `save takes pairs of <seconds> <changes> (or "" to disable snapshots), got "${values.join(' ')}"`;
      return undefined;
    case 'replicaof':
    case 'slaveof':
      return words.length === 2 ? undefined : `${d.name} takes <host> <port> (or "no one"): wrong number of arguments`;
    case 'client-output-buffer-limit':
      if (words.length === 0 || words.length % 4 !== 0)
        return 'client-output-buffer-limit takes <class> <hard> <soft> <seconds> groups: wrong number of arguments';
      for (let i = 0; i < words.length; i += 4)
        if (!['normal', 'replica', 'slave', 'pubsub'].includes(words[i].toLowerCase())) return `client-output-buffer-limit: unknown class "${words[i]}"`;
      return undefined;
    case 'oom-score-adj-values':
      return words.length === 3 && words.every((w) => /^-?\d+$/.test(w)) ? undefined : 'oom-score-adj-values takes three integers';
  }
  return undefined;
}

function isAclRule(r: string): boolean {
  if (
    /^(on|off|nopass|resetpass|reset|allkeys|allchannels|allcommands|nocommands|resetkeys|resetchannels|clearselectors|skip-sanitize-payload|sanitize-payload)$/i.test(
      r,
    )
  )
    return true;
  if (/^[<>]/.test(r)) return true;
  if (/^[#!][0-9a-fA-F]{64}$/.test(r)) return true;
  if (/^(~|%R~|%W~|%RW~|&)/i.test(r)) return true;
  if (/^[+-]@?[a-z|_-]+$/i.test(r)) return true;
  if (/^\(.*\)$/.test(r)) return true;
  return false;
}

/**
 * The directives of a redis-server command line (`argv` without the program name), and the config
 * file named first when there is one. Mirrors redis-server 7.0's main(): the first argument is the
 * config file unless it starts with `-`; `--name` starts a directive, the following words are its
 * arguments, `--name value` in one word is split.
 */
export function parseRedisArgs(
  argv: RedisArg[],
  file: string,
  pathOf: (index: number) => string,
  lineOf: (index: number) => number,
  version: ServerVersion = UNKNOWN_VERSION,
): { configFile?: RedisArg & { index: number }; directives: RedisDirective[]; problems: RedisConfProblem[] } {
  const directives: RedisDirective[] = [];
  const problems: RedisConfProblem[] = [];
  let i = 0;
  let configFile: (RedisArg & { index: number }) | undefined;
  if (argv.length && !argv[0].value.startsWith('-')) {
    configFile = { ...argv[0], index: 0 };
    i = 1;
  } else if (argv.length && argv[0].value === '-') i = 1;
  let current: RedisDirective | undefined;
  for (; i < argv.length; i++) {
    const a = argv[i];
    const startsOption = a.value.startsWith('--') && (!current || current.args.length > 0 || (current.name === 'save' && argv[i].value.startsWith('--')));
    if (startsOption) {
      const words = a.value.slice(2).split(/\s+/).filter(Boolean);
      current = {
        name: (words[0] ?? '').toLowerCase(),
        args: words.slice(1).map((w) => ({ value: w, raw: a.raw, line: a.line })),
        file,
        line: lineOf(i),
        path: pathOf(i),
        source: 'flag',
      };
      directives.push(current);
    } else if (current) current.args.push(a);
    else
      problems.push({
        line: lineOf(i),
        path: pathOf(i),
        message: `"${shownName(a.value)}" is neither an option (--name) nor the config file (which must come first)`,
      });
  }
  const valid: RedisDirective[] = [];
  for (const d of directives) {
    // `--save` followed directly by another option means `save ""` (redis-server special-cases it).
    if (d.name === 'save' && d.args.length === 0) d.args.push({ value: '' });
    // An empty requirepass is valid (no password): redis-no-auth judges it.
    const problem =
      d.args.length === 0 ? { message: `--${shownName(d.name)} has no value (an unset variable?): redis-server refuses to start` } : checkDirective(d, version);
    if (problem) problems.push({ line: d.line, path: d.path, message: problem.message, ...(problem.severity ? { severity: problem.severity } : {}) });
    if (!problem || problem.severity === 'warning') valid.push(d);
  }
  return { configFile, directives: valid, problems };
}
