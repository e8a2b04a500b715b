import { literalText } from '../interpolate.js';
import type { RedisArg, RedisDirective } from '../redis-conf.js';
import type { RedisServer } from '../model.js';
import type { Where } from '../finding.js';

/*
 * How the rules read a Redis server's configuration as the files write it (directives, their order,
 * interpolated passwords). What those settings mean for the stack (eviction, persistence, headroom)
 * is src/redis/facts.ts, shared with `rqctl doctor`, which reads the same settings from a live server.
 */

/** Reading a Redis server's effective configuration: the last directive of a name wins. */
export function last(server: RedisServer, name: string): RedisDirective | undefined {
  for (let i = server.directives.length - 1; i >= 0; i--) if (server.directives[i].name === name) return server.directives[i];
  return undefined;
}

export function all(server: RedisServer, name: string): RedisDirective[] {
  return server.directives.filter((d) => d.name === name);
}

export function whereOf(d: RedisDirective): Where {
  return { file: d.file, line: d.line, path: d.path };
}

/** Can the config be fully seen? (Absence rules stay quiet when a config file could not be read.) */
export function fullyKnown(server: RedisServer): boolean {
  return !server.confUnknown;
}

export interface AuthState {
  state: 'required' | 'none' | 'unknown';
  /** The password argument (requirepass or the default user's `>password`), when there is one. */
  password?: RedisArg;
  directive?: RedisDirective;
  reason: string;
  /** state 'unknown' because the password's value is not known here (an unset variable, an env_file not read). */
  unknownValue?: string;
}

/** `${REDIS_PASSWORD}` / `$REDIS_PASSWORD`: the variable a password argument was written with, when one. */
export function variableOf(arg: RedisArg | undefined): string | undefined {
  return arg?.raw ? /\$\{?([A-Za-z_][A-Za-z0-9_]*)/.exec(arg.raw)?.[1] : undefined;
}

/**
 * Does this Redis require a password? requirepass sets the default user's password; `user default …`
 * may do the same or turn the default user off; an empty requirepass (list-form `--requirepass ""`,
 * or an unset variable) means none.
 */
export function authOf(server: RedisServer): AuthState {
  let result: AuthState | undefined;
  for (const d of server.directives) {
    if (d.name === 'requirepass') {
      const pw = d.args[0];
      const variable = variableOf(pw);
      result =
        pw && pw.value !== ''
          ? { state: 'required', password: pw, directive: d, reason: 'requirepass' }
          : pw?.unknown
            ? {
                state: 'unknown',
                password: pw,
                directive: d,
                reason: `requirepass comes from ${variable ?? 'a value'} and ${pw.unknown}`,
                unknownValue: pw.unknown,
              }
            : { state: 'none', password: pw, directive: d, reason: emptyReason(pw, variable) };
    } else if (d.name === 'user' && d.args[0]?.value === 'default') {
      // A configured default user is reset first (off, no password), then its rules apply in order.
      let on = false;
      for (const r of d.args.slice(1).map((a) => a.value.toLowerCase())) {
        if (r === 'on') on = true;
        else if (r === 'off' || r === 'reset') on = false;
      }
      const rules = d.args.slice(1).map((a) => a.value.toLowerCase());
      const off = !on;
      const pwArg = d.args.slice(1).find((a) => a.value.startsWith('>') || a.value.startsWith('#'));
      if (off) result = { state: 'required', directive: d, reason: 'the default user is off (clients log in as named ACL users)' };
      else if (rules.includes('nopass')) result = { state: 'none', directive: d, reason: 'the default user has nopass' };
      else if (pwArg?.unknown && pwArg.value.length <= 1)
        result = { state: 'unknown', directive: d, reason: `the default user's password ${pwArg.unknown}`, unknownValue: pwArg.unknown };
      else if (pwArg) result = { state: 'required', password: { ...pwArg, value: pwArg.value.slice(1) }, directive: d, reason: 'ACL user default' };
    }
  }
  if (result) return result;
  if (server.hasExternalConfig || server.confUnknown) return { state: 'unknown', reason: server.confUnknown ?? 'an included file or ACL file may set it' };
  return { state: 'none', reason: 'no requirepass and no ACL user' };
}

/** Why a requirepass is empty, naming the variable it came from. */
function emptyReason(pw: RedisArg | undefined, variable: string | undefined): string {
  if (!pw) return 'requirepass has no value';
  if (!variable) return 'requirepass is empty';
  if (pw.raw && new RegExp(`\\$\\{${variable}:?-\\}`).test(pw.raw))
    return `requirepass is empty: ${variable} is unset or empty here and ${pw.raw} falls back to nothing`;
  return `requirepass is empty: ${variable} is set but empty where it is read`;
}

/** A password argument written literally in the file (not a `${VAR}` reference), including a literal `${VAR:-default}`. */
export function isLiteral(arg: RedisArg | undefined, source: RedisDirective['source'] | undefined): boolean {
  if (!arg) return false;
  if (arg.raw === undefined) return source === 'conf' || source === 'flag';
  if (literalText(arg.raw).trim() !== '') return true;
  return /\$\{[A-Za-z_][A-Za-z0-9_]*:?-(?!\}|null\})[^}]+\}/.test(arg.raw);
}
