import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateFiles } from '../../../src/deploy/validate/index.js';
import type { Finding } from '../../../src/deploy/validate/finding.js';

/**
 * Precision and recall of `config validate` on deployment files written by other people
 * (test/fixtures/real-world/README.md). Each case folder holds the files and expected.json: the
 * findings written down by reading the files (rule, severity, file, line). Recall = expected findings
 * found / expected; a false error = an error finding that is not expected. Held to recall ≥ 95 % and at
 * most 1 false error per 10 files.
 */
const CORPUS = join(import.meta.dirname, '../../fixtures/real-world');

interface Expected {
  source: string;
  licence: string;
  validate?: string[];
  expect: { rule: string; severity: Finding['severity']; file: string; line: number }[];
}

const DEPLOYMENT_FILE = /(\.ya?ml|\.conf)$/;

function deploymentFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (DEPLOYMENT_FILE.test(name)) out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out;
}

const cases = readdirSync(CORPUS)
  .filter((n) => statSync(join(CORPUS, n)).isDirectory())
  .sort()
  .map((name) => {
    const dir = join(CORPUS, name);
    const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected;
    return { name, dir, expected, files: expected.validate ?? deploymentFiles(dir) };
  });

const key = (f: { rule: string; file: string; line: number }) => `${f.rule} ${f.file}:${f.line}`;

describe('the real-world corpus (test/fixtures/real-world)', () => {
  it('has at least 30 deployment files, each case with its source and licence written down', () => {
    const files = cases.flatMap((c) => deploymentFiles(c.dir));
    expect(files.length).toBeGreaterThanOrEqual(30);
    for (const c of cases) {
      expect(c.expected.source.length, c.name).toBeGreaterThan(5);
      expect(c.expected.licence.length, c.name).toBeGreaterThan(2);
    }
  });

  it('recall ≥ 95 % and at most 1 false error per 10 files', async () => {
    let expectedCount = 0;
    let found = 0;
    let falseErrors = 0;
    let fileCount = 0;
    const misses: string[] = [];
    const falses: string[] = [];
    for (const c of cases) {
      // An empty environment: CI validates without the production secrets.
      const { findings } = await validateFiles(c.files, { cwd: c.dir, env: {} });
      fileCount += c.files.length;
      const got = new Map(findings.map((f) => [key(f), f]));
      const wanted = new Set(c.expected.expect.map(key));
      for (const e of c.expected.expect) {
        expectedCount++;
        const f = got.get(key(e));
        if (f && f.severity === e.severity) found++;
        else misses.push(`${c.name}: ${key(e)} (${e.severity})`);
      }
      for (const f of findings)
        if (f.severity === 'error' && !wanted.has(key(f))) {
          falseErrors++;
          falses.push(`${c.name}: ${key(f)} ${f.message}`);
        }
    }
    const recall = found / expectedCount;
    const falsePer10 = (falseErrors / fileCount) * 10;
    // The figures the issue asks for, printed on every run.
    console.log(
      `real-world corpus: ${cases.length} cases, ${fileCount} files; recall ${(recall * 100).toFixed(1)} % (${found}/${expectedCount}); ` +
        `false errors ${falseErrors} (${falsePer10.toFixed(2)} per 10 files)`,
    );
    if (misses.length) console.log(`missed:\n  ${misses.join('\n  ')}`);
    if (falses.length) console.log(`false errors:\n  ${falses.join('\n  ')}`);
    expect(recall).toBeGreaterThanOrEqual(0.95);
    expect(falsePer10).toBeLessThanOrEqual(1);
  }, 120_000);
});
