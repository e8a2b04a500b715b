import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT } from '../helpers/cli.js';

/** `rqctl --help` and `--version` must not load the heavy modules (BENCHMARKS.md: start ≤ 1.6× node). */
describe('start-up stays light', () => {
  it.each([['--help'], ['--version'], ['queue', '--help']])('rqctl %s loads no heavy module', (...args) => {
    const file = join(mkdtempSync(join(tmpdir(), 'rqctl-trace-')), 'imports.txt');
    const r = spawnSync(process.execPath, ['--import', join(ROOT, 'test/helpers/trace-imports.mjs'), BIN, ...args], {
      env: { PATH: process.env.PATH, TRACE_IMPORTS_FILE: file, NO_COLOR: '1' },
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    const loaded = readFileSync(file, 'utf8');
    // The trace works (it saw the entry point); --help/--version answer without commander at all.
    expect(loaded).toContain('bin/rqctl.js');
    if (args.length > 1) expect(loaded).toContain('commander');
    for (const heavy of [
      'bullmq',
      'ioredis',
      'dockerode',
      'zod',
      '/yaml/',
      'execa',
      'nodemailer',
      'ajv',
      'cli-table3',
      'chalk',
      'ora',
      '@inquirer',
      '/hono/',
      '@hono',
      '@bull-board',
      'uplot',
    ]) {
      expect(loaded, `${heavy} loaded by rqctl ${args.join(' ')}`).not.toContain(`node_modules/${heavy.replace(/^\//, '')}`);
    }
  });
});

describe('the --help/--version fast path', () => {
  it('prints exactly what commander prints', async () => {
    const viaBin = spawnSync(process.execPath, [BIN, '--help'], { env: { PATH: process.env.PATH, NO_COLOR: '1' }, encoding: 'utf8' });
    const { buildProgram } = await import(join(ROOT, 'dist/cli/main.js'));
    const program = buildProgram();
    let text = '';
    program.configureOutput({ writeOut: (s: string) => (text += s), getOutHelpWidth: () => 80 });
    program.outputHelp();
    expect(viaBin.status).toBe(0);
    expect(viaBin.stdout).toBe(text);
    const version = spawnSync(process.execPath, [BIN, '--version'], { encoding: 'utf8' });
    expect(version.stdout).toBe(`${JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version}\n`);
  });
});
