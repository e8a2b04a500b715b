#!/usr/bin/env node
// The function-length report of `npm run lint`: prints the longest functions in src/ (measured on
// the syntax tree, first to last line) and fails when one is over the house limit: 80 lines in
// src/runtime (long-lived processes, where a change is hardest to make safely), 120 elsewhere.
//
//   node scripts/function-lengths.mjs [--top N]
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const ROOT = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');
const LIMITS = [
  { prefix: 'src/runtime/', max: 80 },
  { prefix: 'src/', max: 120 },
];
const topArg = process.argv.indexOf('--top');
const TOP = topArg > 0 ? Number(process.argv[topArg + 1]) : 8;

function* files(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* files(p);
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) yield p;
  }
}

function nameOf(node, sf) {
  if (node.name) return node.name.getText(sf);
  const parent = node.parent;
  if (parent && (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent))) return parent.name.getText(sf);
  if (parent && ts.isCallExpression(parent)) return `(callback of ${parent.expression.getText(sf).slice(0, 40)})`;
  return '(anonymous)';
}

const found = [];
for (const file of files(join(ROOT, 'src'))) {
  const text = readFileSync(file, 'utf8');
  // Generated tables (src/deploy/validate/redis-directives.ts) are data, not code to split.
  if (/^\/\/ Generated|^\/\*\*?\s*Generated/m.test(text.slice(0, 300))) continue;
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const visit = (node) => {
    if (ts.isFunctionLike(node) && node.body) {
      const first = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const last = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      const rel = relative(ROOT, file);
      const max = LIMITS.find((l) => rel.startsWith(l.prefix)).max;
      found.push({ lines: last - first + 1, where: `${rel}:${first + 1}`, name: nameOf(node, sf), max });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
}

found.sort((a, b) => b.lines - a.lines);
const over = found.filter((f) => f.lines > f.max);
process.stdout.write(`longest functions in src/ (limits: src/runtime 80 lines, elsewhere 120):\n`);
for (const f of found.slice(0, Math.max(TOP, over.length))) {
  process.stdout.write(`  ${String(f.lines).padStart(4)}  ${f.where}  ${f.name}${f.lines > f.max ? `  OVER ${f.max}` : ''}\n`);
}
if (over.length) {
  process.stderr.write(`${over.length} function(s) over the limit: split them by responsibility\n`);
  process.exit(1);
}
