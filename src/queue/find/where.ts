import { usageError } from '../../errors.js';

/**
 * `--where PATH=VALUE` and `--where PATH~REGEX`: conditions on a job's data (docs/commands.md).
 *
 * PATH is dotted into the data (`params.symbol`, `to`, `data.email`); a number picks an array element
 * (`to.0`), and a name on an array looks into each element. Where the path meets an array, any
 * element that holds makes the condition hold (`to=alice@example.com` matches `{"to":["bob@…","alice@…"]}`).
 * `=` compares as text, or as numbers when both sides are numbers (`page=1` matches 1, "1" and 1.0);
 * `true`, `false` and `null` match those values. `~` is a case-insensitive regular expression searched
 * in the value as text (objects as their JSON).
 */
export interface WhereCondition {
  /** As typed, for messages. */
  text: string;
  path: string[];
  op: '=' | '~';
  value: string;
}

const NUMERIC = /^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i;

export function parseWhere(text: string): WhereCondition {
  const at = text.search(/[=~]/);
  if (at < 0) throw usageError(`--where expects PATH=VALUE or PATH~REGEX (got "${text}")`, 'e.g. --where params.symbol=AAPL or --where to~@example\\.com$');
  const pathText = text.slice(0, at).trim();
  const op = text[at] as '=' | '~';
  const value = text.slice(at + 1);
  if (pathText === '') throw usageError(`--where "${text}" has no path before "${op}"`, 'the path is dotted into the job data, e.g. params.symbol');
  const path = pathText.split('.');
  if (path.some((s) => s.trim() === '')) {
    throw usageError(`--where path "${pathText}" has an empty segment`, 'segments are separated by single dots, e.g. params.symbol or data.email');
  }
  if (op === '~') {
    try {
      new RegExp(value, 'i');
    } catch (e) {
      throw usageError(
        `--where "${text}": not a valid regular expression: ${(e as Error).message}`,
        'escape special characters, e.g. --where "to~@example\\.com$"',
      );
    }
  }
  return { text, path: path.map((s) => s.trim()), op, value };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The values a path reaches from `values` onwards (several when it crosses an array); own properties only. */
function resolveMany(values: unknown[], path: readonly string[], from: number): unknown[] {
  for (let i = from; i < path.length && values.length; i++) {
    const seg = path[i];
    const next: unknown[] = [];
    for (const v of values) {
      if (Array.isArray(v)) {
        if (/^\d+$/.test(seg)) {
          if (Number(seg) < v.length) next.push(v[Number(seg)]);
        } else for (const e of v) if (isObject(e) && Object.hasOwn(e, seg)) next.push(e[seg]);
      } else if (isObject(v) && Object.hasOwn(v, seg)) next.push(v[seg]);
    }
    values = next;
  }
  return values;
}

/** The values a path reached through an array. */
class Many {
  constructor(readonly values: unknown[]) {}
}

/**
 * The value a path reaches (`undefined` when it reaches none), or `Many` when it crosses an array.
 * Runs for every job a walk reads: a path through plain objects allocates nothing.
 */
function resolvePath(root: unknown, path: readonly string[]): unknown {
  let v = root;
  for (let i = 0; i < path.length; i++) {
    if (Array.isArray(v)) return new Many(resolveMany([v], path, i));
    if (!isObject(v) || !Object.hasOwn(v, path[i])) return undefined;
    v = v[path[i]];
  }
  return v;
}

function equalsText(v: unknown, want: string, wantNumber: number | undefined): boolean {
  if (Array.isArray(v)) return v.some((e) => equalsText(e, want, wantNumber));
  if (typeof v === 'string') return v === want || (wantNumber !== undefined && NUMERIC.test(v.trim()) && Number(v) === wantNumber);
  if (typeof v === 'number') return wantNumber !== undefined ? v === wantNumber : false;
  if (typeof v === 'boolean' || v === null) return String(v) === want;
  return false;
}

function matchesRegex(v: unknown, re: RegExp): boolean {
  if (Array.isArray(v)) return v.some((e) => matchesRegex(e, re));
  if (typeof v === 'string') return re.test(v);
  if (v === undefined) return false;
  return re.test(typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v));
}

/** All conditions as one predicate on a job's data (AND). */
export function compileWhere(conditions: readonly WhereCondition[]): ((data: unknown) => boolean) | null {
  if (conditions.length === 0) return null;
  const tests = conditions.map((c) => {
    if (c.op === '~') {
      const re = new RegExp(c.value, 'i');
      return (data: unknown) => {
        const v = resolvePath(data, c.path);
        return v instanceof Many ? v.values.some((e) => matchesRegex(e, re)) : matchesRegex(v, re);
      };
    }
    const n = NUMERIC.test(c.value.trim()) ? Number(c.value) : undefined;
    const wantNumber = n !== undefined && Number.isFinite(n) ? n : undefined;
    return (data: unknown) => {
      const v = resolvePath(data, c.path);
      return v instanceof Many ? v.values.some((e) => equalsText(e, c.value, wantNumber)) : equalsText(v, c.value, wantNumber);
    };
  });
  return (data) => tests.every((t) => t(data));
}
