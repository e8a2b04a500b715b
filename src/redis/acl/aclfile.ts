import { createHash } from 'node:crypto';
import type { AclSelector, AclUserName, AclUserRules } from './users.js';

/**
 * The aclfile format (Redis 7): one `user <name> <rules…>` line per user, rules applied left to right,
 * `(…)` a further selector. Redis refuses the whole file (and will not start) on a line it cannot
 * read, comments included: the reasons for the rules live in docs/acl.md, not in the file.
 */

/** `#<sha256 hex>`: Redis stores and compares the hash; the password itself is never written. */
export function passwordRule(password: string): string {
  return `#${createHash('sha256').update(password, 'utf8').digest('hex')}`;
}

function selectorRules(s: AclSelector): string[] {
  return [...s.keys, '-@all', ...s.commands.map((c) => `+${c}`)];
}

function userLine(user: AclUserRules, password: string): string {
  const r = user.root;
  const rules = r.allCommands
    ? ['resetchannels', '&*', 'resetkeys', ...r.keys, '+@all', ...(r.denied ?? []).map((c) => `-${c}`)]
    : ['resetchannels', 'resetkeys', ...selectorRules(r)];
  const selectors = user.selectors.map((s) => `(${selectorRules(s).join(' ')})`);
  return ['user', user.name, 'on', passwordRule(password), ...rules, ...selectors].join(' ');
}

/** The aclfile text: the default user off (no login without a user name), then each user with its password's hash. */
export function renderAclFile(users: AclUserRules[], passwords: Readonly<Record<AclUserName, string>>): string {
  return ['user default off resetchannels resetkeys -@all', ...users.map((u) => userLine(u, passwords[u.name]))].join('\n') + '\n';
}

export interface AclFileUser {
  name: string;
  line: number;
  /** The root rules in order (the tokens after the name), selectors left out. */
  rules: string[];
  /** Each `(…)` selector's rules. */
  selectors: string[][];
}

export interface ParsedAclFile {
  users: AclFileUser[];
  problems: { line: number; message: string }[];
}

/** Splits like Redis' sdssplitargs: whitespace separates, "…" and '…' quote. Undefined on an unbalanced quote. */
function splitArgs(line: string): string[] | undefined {
  const out: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && /\s/.test(line[i])) i++;
    if (i >= line.length) break;
    let word = '';
    while (i < line.length && !/\s/.test(line[i])) {
      const q = line[i];
      if (q === '"' || q === "'") {
        const end = line.indexOf(q, i + 1);
        if (end < 0) return undefined;
        word += line.slice(i + 1, end);
        i = end + 1;
      } else word += line[i++];
    }
    out.push(word);
  }
  return out;
}

/** Reads an aclfile as Redis would, keeping line numbers; a line Redis refuses is a problem (Redis then starts with none of the file). */
export function parseAclFile(text: string): ParsedAclFile {
  const users: AclFileUser[] = [];
  const problems: ParsedAclFile['problems'] = [];
  const seen = new Set<string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '') return;
    const words = splitArgs(raw);
    if (!words) return problems.push({ line, message: 'unbalanced quotes' });
    if (words[0] !== 'user' || words.length < 2) {
      const what = raw.trim().startsWith('#') ? 'a comment: aclfiles have none' : `"${raw.trim().slice(0, 40)}"`;
      return problems.push({ line, message: `${what}; every line must be \`user <name> <rules…>\`` });
    }
    const [, name, ...rest] = words;
    if (seen.has(name)) problems.push({ line, message: `user ${name} is defined twice` });
    seen.add(name);
    const rules: string[] = [];
    const selectors: string[][] = [];
    let open: string[] | undefined;
    for (const w of rest) {
      if (open) {
        if (w.endsWith(')')) {
          open.push(...(w.length > 1 ? [w.slice(0, -1)] : []));
          selectors.push(open);
          open = undefined;
        } else open.push(w);
      } else if (w.startsWith('(')) {
        const inner = w.slice(1);
        if (inner.endsWith(')')) selectors.push(inner.length > 1 ? [inner.slice(0, -1)] : []);
        else open = inner ? [inner] : [];
      } else rules.push(w);
    }
    if (open) problems.push({ line, message: `user ${name}: a selector "(" is never closed` });
    users.push({ name, line, rules, selectors });
  });
  return { users, problems };
}

/** What a user's root rules come to, read left to right as Redis applies them. */
export interface AclUserSummary {
  on: boolean;
  nopass: boolean;
  /** Has a password (`>…` or `#…`). */
  password: boolean;
  allCommands: boolean;
  allKeys: boolean;
}

export function summarizeRules(rules: readonly string[]): AclUserSummary {
  const s: AclUserSummary = { on: false, nopass: false, password: false, allCommands: false, allKeys: false };
  for (const raw of rules) {
    const r = raw.toLowerCase();
    if (r === 'on') s.on = true;
    else if (r === 'off') s.on = false;
    else if (r === 'nopass') s.nopass = true;
    else if (r === 'resetpass') {
      s.nopass = false;
      s.password = false;
    } else if (r.startsWith('>') || r.startsWith('#')) {
      s.password = true;
      s.nopass = false;
    } else if (r === '+@all' || r === 'allcommands') s.allCommands = true;
    else if (r === '-@all' || r === 'nocommands') s.allCommands = false;
    else if (r === '~*' || r === 'allkeys' || r === '%rw~*' || r === '%wr~*') s.allKeys = true;
    else if (r === 'resetkeys') s.allKeys = false;
    else if (r === 'reset') Object.assign(s, { on: false, nopass: false, password: false, allCommands: false, allKeys: false });
  }
  return s;
}
