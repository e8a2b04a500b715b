import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import { interpolate, type Interpolated } from './interpolate.js';

/**
 * A compose file as a tree that remembers where every value was written: anchors and aliases are
 * resolved, merge keys (`<<: *base`, `<<: [*a, *b]`) applied with explicit keys winning, and string
 * scalars interpolated against the environment. A merged or aliased value keeps the line of the text
 * it came from (the anchor), which is where an operator fixes it.
 */
export type TreeNode = MapNode | SeqNode | ScalarNode;

export interface MapNode {
  kind: 'map';
  line: number;
  entries: Map<string, TreeNode>;
  /** Line of each key (for findings about the key itself). */
  keyLines: Map<string, number>;
}

export interface SeqNode {
  kind: 'seq';
  line: number;
  items: TreeNode[];
}

export interface ScalarNode {
  kind: 'scalar';
  line: number;
  /** The value after interpolation (strings) or as parsed (numbers, booleans, null). */
  value: unknown;
  /** The text as written, before interpolation (strings only). */
  raw?: string;
  interp?: Interpolated;
}

export interface YamlProblem {
  line: number;
  path: string[];
  message: string;
}

export interface ParsedYaml {
  root?: TreeNode;
  /** The file does not parse (syntax, duplicate keys, unknown alias). */
  syntaxErrors: YamlProblem[];
  /** Bad `${...}` syntax. */
  interpolationErrors: YamlProblem[];
  /** `${VAR:?…}` whose variable is unset: compose would refuse the file until it is set. */
  missingRequired: (YamlProblem & { name: string })[];
}

/**
 * How many values aliases may expand to in one file. Real compose files reuse anchors a few dozen
 * times; a "billion laughs" file (aliases of lists of aliases) expands to billions from a few hundred
 * bytes. Compose itself refuses such a file (Go yaml: "document contains excessive aliasing").
 */
export const MAX_ALIAS_EXPANSION = 100_000;

class AliasBomb extends Error {}

export function parseYamlTree(source: string, env: Record<string, string | undefined>): ParsedYaml {
  const lineCounter = new LineCounter();
  const out: ParsedYaml = { syntaxErrors: [], interpolationErrors: [], missingRequired: [] };
  let doc: Document.Parsed;
  try {
    doc = parseDocument(source, { merge: true, lineCounter, uniqueKeys: true, prettyErrors: false, strict: true });
  } catch (e) {
    out.syntaxErrors.push({ line: 1, path: [], message: (e as Error).message });
    return out;
  }
  const lineOf = (offset: number | undefined) => (offset === undefined ? 1 : lineCounter.linePos(offset).line);
  for (const e of doc.errors) out.syntaxErrors.push({ line: lineOf(e.pos?.[0]), path: [], message: e.message.split('\n')[0] });
  if (out.syntaxErrors.length) return out;

  const seen = new Set<YamlNode>();
  // Values built inside an alias expansion (depth > 0), counted against MAX_ALIAS_EXPANSION.
  let aliasDepth = 0;
  let expanded = 0;
  let bombLine = 1;
  const build = (node: unknown, path: string[], fallbackLine: number): TreeNode => {
    if (aliasDepth > 0 && ++expanded > MAX_ALIAS_EXPANSION) throw new AliasBomb();
    if (isAlias(node)) {
      const target = node.resolve(doc);
      if (!target) {
        out.syntaxErrors.push({ line: lineOf(node.range?.[0]), path, message: `unknown alias *${node.source}` });
        return { kind: 'scalar', line: lineOf(node.range?.[0]), value: null };
      }
      if (seen.has(target as YamlNode)) {
        out.syntaxErrors.push({ line: lineOf(node.range?.[0]), path, message: `alias *${node.source} refers to itself` });
        return { kind: 'scalar', line: lineOf(node.range?.[0]), value: null };
      }
      if (aliasDepth === 0) bombLine = lineOf(node.range?.[0]);
      aliasDepth++;
      try {
        return build(target, path, lineOf(node.range?.[0]));
      } finally {
        aliasDepth--;
      }
    }
    if (isMap(node)) {
      seen.add(node as YamlNode);
      const result: MapNode = { kind: 'map', line: lineOf(node.range?.[0]) ?? fallbackLine, entries: new Map(), keyLines: new Map() };
      const merged: MapNode[] = [];
      for (const pair of node.items) {
        const key = pair.key;
        if (isScalar(key) && (typeof key.value === 'symbol' || (key.value === '<<' && key.type === 'PLAIN'))) {
          const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
          for (const s of sources) {
            const built = build(s, path, lineOf(key.range?.[0]));
            if (built.kind === 'map') merged.push(built);
            else out.syntaxErrors.push({ line: lineOf(key.range?.[0]), path, message: 'a merge key (<<) must refer to a mapping' });
          }
          continue;
        }
        const name = isScalar(key) ? String(key.value) : String(key);
        const keyLine = lineOf((key as { range?: number[] } | null)?.range?.[0]);
        result.keyLines.set(name, keyLine);
        result.entries.set(
          name,
          pair.value === null || pair.value === undefined ? { kind: 'scalar', line: keyLine, value: null } : build(pair.value, [...path, name], keyLine),
        );
      }
      // Explicit keys win over merged ones; among merged maps the first listed wins.
      for (const m of merged) {
        for (const [k, v] of m.entries) {
          if (!result.entries.has(k)) {
            result.entries.set(k, v);
            result.keyLines.set(k, m.keyLines.get(k) ?? v.line);
          }
        }
      }
      seen.delete(node as YamlNode);
      return result;
    }
    if (isSeq(node)) {
      seen.add(node as YamlNode);
      const result: SeqNode = {
        kind: 'seq',
        line: lineOf(node.range?.[0]),
        items: node.items.map((it, i) => build(it, [...path, String(i)], lineOf(node.range?.[0]))),
      };
      seen.delete(node as YamlNode);
      return result;
    }
    if (isScalar(node)) {
      const line = lineOf(node.range?.[0]);
      if (typeof node.value === 'string') {
        const interp = interpolate(node.value, env);
        for (const e of interp.errors) out.interpolationErrors.push({ line, path, message: e });
        for (const m of interp.missingRequired) out.missingRequired.push({ line, path, name: m.name, message: m.message });
        return { kind: 'scalar', line, value: interp.value, raw: node.value, interp };
      }
      return { kind: 'scalar', line, value: node.value };
    }
    return { kind: 'scalar', line: fallbackLine, value: null };
  };
  try {
    out.root = build(doc.contents, [], 1);
  } catch (e) {
    if (!(e instanceof AliasBomb)) throw e;
    out.syntaxErrors.push({
      line: bombLine,
      path: [],
      message: `aliases expand to more than ${MAX_ALIAS_EXPANSION.toLocaleString('en')} values (a YAML alias bomb?): compose refuses it ("excessive aliasing"), and validate stops reading it`,
    });
  }
  return out;
}

/** Plain JavaScript value of a tree (for the JSON schema). */
export function toPlain(node: TreeNode | undefined): unknown {
  if (!node) return undefined;
  if (node.kind === 'scalar') return node.value;
  if (node.kind === 'seq') return node.items.map(toPlain);
  const o: Record<string, unknown> = {};
  for (const [k, v] of node.entries) o[k] = toPlain(v);
  return o;
}

/** The line of the deepest node that exists along the path. */
export function lineAt(node: TreeNode | undefined, path: (string | number)[]): number {
  let n = node;
  let line = node?.line ?? 1;
  for (const p of path) {
    if (!n) break;
    if (n.kind === 'map') {
      const key = String(p);
      if (!n.entries.has(key)) break;
      line = n.keyLines.get(key) ?? line;
      n = n.entries.get(key);
    } else if (n.kind === 'seq') {
      n = n.items[Number(p)];
      if (n) line = n.line;
    } else break;
  }
  return line;
}

/** `services.redis.ports[0]` from ['services', 'redis', 'ports', '0']. */
export function formatPath(path: (string | number)[]): string {
  let s = '';
  for (const p of path) {
    if (typeof p === 'number' || /^\d+$/.test(String(p))) s += `[${p}]`;
    else s += s ? `.${p}` : String(p);
  }
  return s;
}

export function scalarString(node: TreeNode | undefined): string | undefined {
  if (!node || node.kind !== 'scalar' || node.value === null || node.value === undefined) return undefined;
  return String(node.value);
}
