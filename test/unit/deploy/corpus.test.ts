import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import AjvModule from 'ajv';
import { discoverFiles, validateFiles } from '../../../src/deploy/validate/index.js';
import { RULES } from '../../../src/deploy/validate/rules/index.js';
import { toSarif } from '../../../src/deploy/validate/sarif.js';
import { generateFiles, writeGenerated } from '../../../src/deploy/generate/generate.js';
import type { Finding } from '../../../src/deploy/validate/finding.js';

const FIXTURES = join(import.meta.dirname, '../../fixtures/deploy');
const SARIF_SCHEMA = join(import.meta.dirname, '../../fixtures/schemas/sarif-2.1.0-rtm.5.json');

interface Case {
  dir: string;
  files?: string[];
  about?: string;
  expect?: [string, string, number][];
  absent?: string[];
  clean?: boolean;
  errors?: number;
}
const { cases } = JSON.parse(readFileSync(join(FIXTURES, 'cases.json'), 'utf8')) as { cases: Case[] };

async function run(dir: string, files?: string[], env: Record<string, string> = {}) {
  const cwd = join(FIXTURES, dir);
  return validateFiles(files ?? discoverFiles(cwd), { cwd, env });
}

const seen = new Set<string>();
const tmp = mkdtempSync(join(tmpdir(), 'rqctl-corpus-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('the corpus: defective files, each finding where it is written', () => {
  for (const c of cases) {
    it(`${c.dir}${c.files ? ` (${c.files.join(', ')})` : ''}${c.about ? `: ${c.about}` : ''}`, async () => {
      const { findings, summary } = await run(c.dir, c.files);
      for (const f of findings) seen.add(f.rule);
      const show = findings.map((f) => `${f.rule} ${f.file}:${f.line} ${f.message}`).join('\n');
      for (const [rule, file, line] of c.expect ?? []) {
        expect(
          findings.some((f) => f.rule === rule && f.file === file && f.line === line),
          `expected ${rule} at ${file}:${line}; got\n${show}`,
        ).toBe(true);
      }
      for (const rule of c.absent ?? [])
        expect(
          findings.filter((f) => f.rule === rule),
          show,
        ).toEqual([]);
      if (c.clean) expect(summary.error, show).toBe(0);
      if (c.errors !== undefined) expect(summary.error, show).toBe(c.errors);
      // Every finding has the contract's shape, and its severity is its rule's.
      for (const f of findings) {
        expect(Object.keys(f).sort()).toEqual(['file', 'fix', 'line', 'message', 'path', 'rule', 'severity']);
        expect(f.severity).toBe(RULES.find((r) => r.id === f.rule)!.severity);
        expect(f.line).toBeGreaterThanOrEqual(1);
        expect(f.message.length).toBeGreaterThan(10);
        expect(f.fix.length).toBeGreaterThan(10);
      }
    });
  }

  it('the generated files (both topologies) raise no error; single raises exactly the eviction error', async () => {
    for (const topology of ['split', 'single'] as const) {
      const dir = join(tmp, topology);
      writeGenerated(dir, generateFiles({ topology }));
      const r = await validateFiles(discoverFiles(dir), { cwd: dir, env: {} });
      for (const f of r.findings) seen.add(f.rule);
      const errors = r.findings.filter((f) => f.severity === 'error');
      if (topology === 'split') expect(errors).toEqual([]);
      else expect(errors.map((e) => [e.rule, e.file, e.path])).toEqual([['redis-queue-eviction', 'docker/redis.conf', 'maxmemory-policy']]);
      // The password reaches Redis on the command line: the warning docs/deployment.md says it is.
      expect(r.findings.some((f) => f.rule === 'redis-password-cmdline')).toBe(true);
      // Without REDIS_PASSWORD in the environment compose would refuse to start: a note, not an error.
      expect(r.findings.filter((f) => f.rule === 'compose-variable-unset').map((f) => f.message)).toEqual([expect.stringContaining('REDIS_PASSWORD')]);
      const withPassword = await validateFiles(discoverFiles(dir), { cwd: dir, env: { REDIS_PASSWORD: 'a-long-random-secret' } });
      expect(withPassword.findings.filter((f) => f.rule === 'compose-variable-unset')).toEqual([]);
    }
  });

  it('a named file over 1 MiB is not read: one file-too-large error (issue 13.3)', async () => {
    const dir = join(tmp, 'too-large');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'docker-compose.yml'), `services:\n${'  # padding\n'.repeat(100_000)}`);
    const r = await validateFiles(['docker-compose.yml'], { cwd: dir, env: {} });
    for (const f of r.findings) seen.add(f.rule);
    expect(r.findings.map((f) => [f.rule, f.severity, f.file])).toEqual([['file-too-large', 'error', 'docker-compose.yml']]);
  });

  it('finds every rule of the catalogue somewhere in the corpus', () => {
    expect(RULES.map((r) => r.id).filter((id) => !seen.has(id))).toEqual([]);
  });
});

describe('SARIF 2.1.0', () => {
  it('validates against the OASIS schema and carries every finding with its rule, level and location', async () => {
    const { findings } = await run('old-stack');
    const sarif = toSarif(findings, RULES, '0.1.0') as any;
    const schema = JSON.parse(readFileSync(SARIF_SCHEMA, 'utf8'));
    // A draft-04 schema: ajv 8 reads it once `id` is spelled `$id` (its language pattern is not valid with /u).
    delete schema.$schema;
    schema.$id = schema.id;
    delete schema.id;
    const Ajv = (AjvModule as any).default ?? AjvModule;
    const validate = new Ajv({ strict: false, allErrors: true, validateFormats: false, unicodeRegExp: false }).compile(schema);
    expect(validate(sarif), JSON.stringify(validate.errors, null, 2)).toBe(true);
    expect(sarif.version).toBe('2.1.0');
    const results = sarif.runs[0].results;
    expect(results).toHaveLength(findings.length);
    const rules = sarif.runs[0].tool.driver.rules;
    for (const [i, r] of results.entries()) {
      const f: Finding = findings[i];
      expect(r.ruleId).toBe(f.rule);
      expect(rules[r.ruleIndex].id).toBe(f.rule);
      expect(r.level).toBe(f.severity === 'info' ? 'note' : f.severity);
      expect(r.locations[0].physicalLocation.artifactLocation.uri).toBe(f.file);
      expect(r.locations[0].physicalLocation.region.startLine).toBe(f.line);
    }
  });
});
