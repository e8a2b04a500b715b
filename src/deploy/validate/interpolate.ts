/**
 * Compose variable interpolation: `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
 * `${VAR:?error}`, `${VAR?error}`, `${VAR:+alt}`, `${VAR+alt}`, `$$` for a literal `$`, and nested
 * references inside defaults (`${A:-${B}}`), as `docker compose` does.
 *
 * A required variable (`:?`/`?`) that is missing does not stop validation: CI often validates without
 * the production secrets. Its reference is kept as text (`${REDIS_PASSWORD}`), so it counts as "set,
 * value unknown", and the caller reports it as a note.
 */
export interface VariableUse {
  name: string;
  /** Set (to any value, even empty) in the environment or `.env`. */
  set: boolean;
  /** `:?` or `?`: compose refuses to start without it. */
  required: boolean;
  /** The default text written in the file (`${VAR:-this}`), when there is one. */
  defaultText?: string;
  /** The default was used because the variable was unset (or empty with `:-`). */
  defaultUsed: boolean;
}

export interface Interpolated {
  value: string;
  uses: VariableUse[];
  /** Required variables that are unset or empty: compose would refuse the file. */
  missingRequired: { name: string; message: string }[];
  /** Syntax errors ("invalid interpolation format"). */
  errors: string[];
  /**
   * Variables referenced without a default (`$VAR`, `${VAR}`) that are not set here: the value is not
   * known (empty text stands in for it), which is not the same as empty.
   */
  unset: string[];
}

const NAME = /^[_a-zA-Z][_a-zA-Z0-9]*/;

/** The text written in the file minus every variable reference: what is literally there. */
export function literalText(raw: string): string {
  let out = '';
  let i = 0;
  while (i < raw.length) {
    const c = raw[i];
    if (c !== '$') {
      out += c;
      i++;
      continue;
    }
    if (raw[i + 1] === '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (raw[i + 1] === '{') {
      const end = matchBrace(raw, i + 1);
      i = end < 0 ? raw.length : end + 1;
      continue;
    }
    const m = NAME.exec(raw.slice(i + 1));
    if (m) i += 1 + m[0].length;
    else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Index of the `}` closing the `{` at `open`, counting nested `${`. */
function matchBrace(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    if (s[i] === '$' && s[i + 1] === '$') {
      i++;
      continue;
    }
    if (s[i] === '{') depth++;
    else if (s[i] === '}') {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

export function interpolate(raw: string, env: Record<string, string | undefined>): Interpolated {
  const result: Interpolated = { value: '', uses: [], missingRequired: [], errors: [], unset: [] };
  let i = 0;
  while (i < raw.length) {
    const c = raw[i];
    if (c !== '$') {
      result.value += c;
      i++;
      continue;
    }
    const next = raw[i + 1];
    if (next === '$') {
      result.value += '$';
      i += 2;
      continue;
    }
    if (next === '{') {
      const end = matchBrace(raw, i + 1);
      if (end < 0) {
        result.errors.push(`invalid interpolation format: unclosed "\${" in "${raw}"`);
        result.value += raw.slice(i);
        break;
      }
      braced(raw.slice(i + 2, end), raw.slice(i, end + 1), env, result);
      i = end + 1;
      continue;
    }
    const m = NAME.exec(raw.slice(i + 1));
    if (!m) {
      result.errors.push(`invalid interpolation format: "$" not followed by a variable name in "${raw}" (write "$$" for a literal "$")`);
      result.value += '$';
      i++;
      continue;
    }
    const name = m[0];
    const value = env[name];
    result.uses.push({ name, set: value !== undefined, required: false, defaultUsed: false });
    if (value === undefined) result.unset.push(name);
    result.value += value ?? '';
    i += 1 + name.length;
  }
  return result;
}

function braced(inner: string, whole: string, env: Record<string, string | undefined>, result: Interpolated): void {
  const m = NAME.exec(inner);
  if (!m) {
    result.errors.push(`invalid interpolation format: "${whole}"`);
    result.value += whole;
    return;
  }
  const name = m[0];
  const rest = inner.slice(name.length);
  const value = env[name];
  const op = /^(:-|-|:\?|\?|:\+|\+)/.exec(rest)?.[0];
  if (rest && !op) {
    result.errors.push(`invalid interpolation format: "${whole}"`);
    result.value += whole;
    return;
  }
  const arg = op ? rest.slice(op.length) : '';
  const use: VariableUse = { name, set: value !== undefined, required: op === ':?' || op === '?', defaultUsed: false };
  if (op === ':-' || op === '-') use.defaultText = arg;
  result.uses.push(use);
  const nested = (text: string): string => {
    const r = interpolate(text, env);
    result.uses.push(...r.uses);
    result.missingRequired.push(...r.missingRequired);
    result.errors.push(...r.errors);
    result.unset.push(...r.unset);
    return r.value;
  };
  switch (op) {
    case undefined:
      if (value === undefined) result.unset.push(name);
      result.value += value ?? '';
      return;
    case ':-':
      if (value === undefined || value === '') {
        use.defaultUsed = true;
        result.value += nested(arg);
      } else result.value += value;
      return;
    case '-':
      if (value === undefined) {
        use.defaultUsed = true;
        result.value += nested(arg);
      } else result.value += value;
      return;
    case ':?':
    case '?':
      if (value === undefined || (op === ':?' && value === '')) {
        result.missingRequired.push({ name, message: nested(arg) || `required variable ${name} is missing a value` });
        result.value += `\${${name}}`;
      } else result.value += value;
      return;
    case ':+':
      result.value += value !== undefined && value !== '' ? nested(arg) : '';
      return;
    case '+':
      result.value += value !== undefined ? nested(arg) : '';
      return;
  }
}
