/**
 * Splits a command line into words the way a POSIX shell (and `docker compose`, and Python's shlex
 * that docker-compose v1 and supervisord use) does: whitespace separates, single quotes are literal,
 * double quotes allow `\"`, `\\`, `\$`, and a backslash outside quotes escapes the next character.
 * Shell operators (`;`, `&&`, `||`, `|`, `&`, newline) become words of their own when `operators` is
 * set, so a `sh -c` script can be cut into simple commands.
 */
export class ShellSyntaxError extends Error {}

const OPERATORS = ['&&', '||', ';', '|', '&', '\n'];

export function splitWords(line: string, options: { operators?: boolean } = {}): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  const push = () => {
    if (inWord) words.push(word);
    word = '';
    inWord = false;
  };
  while (i < line.length) {
    const c = line[i];
    if (options.operators) {
      const op = OPERATORS.find((o) => line.startsWith(o, i));
      if (op) {
        push();
        words.push(op === '\n' ? ';' : op);
        i += op.length;
        continue;
      }
      if (c === '#' && !inWord) {
        const nl = line.indexOf('\n', i);
        i = nl < 0 ? line.length : nl;
        continue;
      }
    }
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      push();
      i++;
      continue;
    }
    inWord = true;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new ShellSyntaxError(`unclosed single quote in: ${line}`);
      word += line.slice(i + 1, end);
      i = end + 1;
      continue;
    }
    if (c === '"') {
      i++;
      for (;;) {
        if (i >= line.length) throw new ShellSyntaxError(`unclosed double quote in: ${line}`);
        const d = line[i];
        if (d === '"') {
          i++;
          break;
        }
        if (d === '\\' && i + 1 < line.length && '"\\$`\n'.includes(line[i + 1])) {
          if (line[i + 1] !== '\n') word += line[i + 1];
          i += 2;
          continue;
        }
        word += d;
        i++;
      }
      continue;
    }
    if (c === '\\') {
      if (i + 1 < line.length) {
        if (line[i + 1] !== '\n') word += line[i + 1];
        i += 2;
      } else i++;
      continue;
    }
    word += c;
    i++;
  }
  push();
  return words;
}

/**
 * The simple commands of a shell script (`exec` and leading `VAR=value` assignments removed), e.g.
 * `sh -c 'exec redis-server /etc/redis.conf --requirepass "$REDIS_PASSWORD"'`.
 */
export function simpleCommands(script: string): string[][] {
  const words = splitWords(script, { operators: true });
  const commands: string[][] = [];
  let current: string[] = [];
  for (const w of words) {
    if (['&&', '||', ';', '|', '&'].includes(w)) {
      if (current.length) commands.push(current);
      current = [];
    } else current.push(w);
  }
  if (current.length) commands.push(current);
  return commands.map((cmd) => {
    let k = 0;
    while (
      k < cmd.length &&
      (/^[A-Za-z_][A-Za-z0-9_]*=/.test(cmd[k]) || ['exec', 'then', 'do', 'else', 'while', 'until', 'if', 'elif', '{', '('].includes(cmd[k]))
    )
      k++;
    return cmd.slice(k);
  });
}

/** `sh -c SCRIPT` / `bash -c SCRIPT` / `/bin/sh -ec SCRIPT`: the script, else undefined. */
export function shellScript(argv: string[]): string | undefined {
  if (argv.length < 3) return undefined;
  const shell = argv[0].split('/').pop() ?? '';
  if (!['sh', 'bash', 'ash', 'dash', 'zsh'].includes(shell)) return undefined;
  for (let i = 1; i < argv.length - 1; i++) {
    const a = argv[i];
    if (/^-[a-z]*c[a-z]*$/.test(a)) return argv[i + 1];
    if (!a.startsWith('-')) return undefined;
  }
  return undefined;
}

/** The basename of a program path: `/usr/local/bin/redis-server` → `redis-server`. */
export function programName(word: string | undefined): string {
  return (word ?? '').split('/').pop() ?? '';
}
