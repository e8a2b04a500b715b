/**
 * supervisord's INI dialect, read the way supervisord 4 reads it (Python's configparser with
 * strict=False): `key = value` or `key: value`, keys case-insensitive, indented lines continue a
 * value, `;` or `#` start a comment at the start of a line or after whitespace. Duplicate sections and
 * keys are NOT errors for supervisord — it silently merges them key by key, the last value winning —
 * which is exactly why they are findings here.
 */
export interface IniValue {
  value: string;
  line: number;
}

export interface IniSection {
  name: string;
  line: number;
  keys: Map<string, IniValue>;
}

export interface IniProblem {
  kind: 'parse' | 'duplicate-section' | 'duplicate-key';
  line: number;
  section?: string;
  key?: string;
  message: string;
}

export interface ParsedIni {
  sections: Map<string, IniSection>;
  problems: IniProblem[];
}

const SECTION = /^\[(.+)\]$/;
const OPTION = /^(.*?)\s*([=:])\s*(.*)$/;

function stripInlineComment(line: string): string {
  for (let i = 0; i < line.length; i++) {
    if ((line[i] === ';' || line[i] === '#') && (i === 0 || /\s/.test(line[i - 1]))) return line.slice(0, i);
  }
  return line;
}

export function parseIni(source: string): ParsedIni {
  const result: ParsedIni = { sections: new Map(), problems: [] };
  const lines = source.split(/\r?\n/);
  let section: IniSection | undefined;
  let lastKey: { value: IniValue; indent: number } | undefined;
  lines.forEach((rawLine, idx) => {
    const lineNo = idx + 1;
    const trimmed = rawLine.trim();
    if (!trimmed || trimmed.startsWith('#') || trimmed.startsWith(';')) return;
    const indent = rawLine.length - rawLine.trimStart().length;
    const value = stripInlineComment(rawLine).trim();
    if (!value) return;
    if (lastKey && indent > lastKey.indent) {
      lastKey.value.value += `\n${value}`;
      return;
    }
    const header = SECTION.exec(value);
    if (header) {
      const name = header[1].trim();
      const existing = result.sections.get(name);
      if (existing) {
        result.problems.push({
          kind: 'duplicate-section',
          line: lineNo,
          section: name,
          message: `section [${name}] appears again (first at line ${existing.line}); supervisord merges both key by key`,
        });
        section = existing;
      } else {
        section = { name, line: lineNo, keys: new Map() };
        result.sections.set(name, section);
      }
      lastKey = undefined;
      return;
    }
    const opt = OPTION.exec(value);
    if (!section) {
      result.problems.push({
        kind: 'parse',
        line: lineNo,
        message: `"${value}" comes before any [section] header (supervisord: "File contains no section headers")`,
      });
      return;
    }
    if (!opt || !opt[1]) {
      result.problems.push({
        kind: 'parse',
        line: lineNo,
        section: section.name,
        message: `cannot parse "${value}": expected key=value or a [section] header`,
      });
      lastKey = undefined;
      return;
    }
    const key = opt[1].trim().toLowerCase();
    const existing = section.keys.get(key);
    if (existing)
      result.problems.push({
        kind: 'duplicate-key',
        line: lineNo,
        section: section.name,
        key,
        message: `${key} is set again in [${section.name}] (first at line ${existing.line}); the last value (${opt[3] || '""'}) silently wins`,
      });
    const v: IniValue = { value: opt[3], line: lineNo };
    section.keys.set(key, v);
    lastKey = { value: v, indent };
  });
  return result;
}

/**
 * An include fragment (a conf.d file): only [program:x], [group:x], [eventlistener:x] and
 * [fcgi-program:x] sections. supervisord reads it through the main file's [include], so it needs no
 * [supervisord] section of its own.
 */
export function isFragment(ini: ParsedIni): boolean {
  const names = [...ini.sections.keys()];
  return names.length > 0 && names.every((n) => /^(program|group|eventlistener|fcgi-program):/.test(n));
}

/** A program a supervisord file declares, and how many processes of it supervisord starts. */
export interface DeclaredProgram {
  name: string;
  numprocs: number;
}

/**
 * The `[program:x]` sections of a supervisord file with their `numprocs`, read loosely: what deploy
 * expects `supervisorctl status` to show (validation reports what is malformed). A `numprocs` that is
 * not a positive integer (`%(ENV_X)s`, a typo) counts as one.
 */
export function declaredPrograms(source: string): DeclaredProgram[] {
  const programs: DeclaredProgram[] = [];
  for (const section of parseIni(source).sections.values()) {
    const m = /^program:(.+)$/.exec(section.name);
    if (!m) continue;
    const n = Number(section.keys.get('numprocs')?.value.trim());
    programs.push({ name: m[1].trim(), numprocs: Number.isInteger(n) && n > 0 ? n : 1 });
  }
  return programs;
}

/** `%(name)s` / `%(process_num)02d` expansions a program value may use; anything else stops supervisord. */
const EXPANSIONS = new Set(['here', 'program_name', 'process_num', 'group_name', 'host_node_name', 'numprocs']);

/** Names in a value that supervisord cannot expand (ENV_* depend on the runtime environment: allowed). */
export function badExpansions(value: string): string[] {
  const bad: string[] = [];
  const re = /%(%|\(([^)]*)\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]?)/g;
  for (const m of value.matchAll(re)) {
    if (m[1] === '%') continue;
    const name = m[2];
    if (!/^ENV_/.test(name) && !EXPANSIONS.has(name)) bad.push(name);
    if (!/[diouxXeEfFgGcrsa]$/.test(m[1])) bad.push(`${m[0]} (no conversion type)`);
  }
  return bad;
}

/** The keys supervisord 4 knows in a [program:x] section; a misspelt one is silently ignored. */
export const PROGRAM_KEYS = new Set([
  'command',
  'process_name',
  'numprocs',
  'numprocs_start',
  'priority',
  'autostart',
  'startsecs',
  'startretries',
  'autorestart',
  'exitcodes',
  'stopsignal',
  'stopwaitsecs',
  'stopasgroup',
  'killasgroup',
  'user',
  'redirect_stderr',
  'stdout_logfile',
  'stdout_logfile_maxbytes',
  'stdout_logfile_backups',
  'stdout_capture_maxbytes',
  'stdout_events_enabled',
  'stdout_syslog',
  'stderr_logfile',
  'stderr_logfile_maxbytes',
  'stderr_logfile_backups',
  'stderr_capture_maxbytes',
  'stderr_events_enabled',
  'stderr_syslog',
  'environment',
  'directory',
  'umask',
  'serverurl',
  // eventlistener and fcgi-program extras
  'buffer_size',
  'events',
  'result_handler',
  'socket',
  'socket_backlog',
  'socket_owner',
  'socket_mode',
]);
