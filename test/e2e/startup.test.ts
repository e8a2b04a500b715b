import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT } from '../helpers/cli.js';

/** `rqctl --help` and `--version` must not load the heavy modules (SPEC §10: start ≤ 1.6× node). */
describe('start-up stays light', () => {
  it.each([['--help'], ['--version'], ['queue', '--help']])('rqctl %s loads no heavy module', (...args) => {
    const file = join(mkdtempSync(join(tmpdir(), 'rqctl-trace-')), 'imports.txt');
    const r = spawnSync(process.execPath, ['--import', join(ROOT, 'test/helpers/trace-imports.mjs'), BIN, ...args], {
      env: { PATH: process.env.PATH, TRACE_IMPORTS_FILE: file, NO_COLOR: '1' },
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    const loaded = readFileSync(file, 'utf8');
    expect(loaded).toContain('commander');
    for (const heavy of ['bullmq', 'ioredis', 'dockerode', 'zod', '/yaml/', 'execa', 'nodemailer', 'ajv', 'cli-table3', 'chalk', 'ora', '@inquirer']) {
      expect(loaded, `${heavy} loaded by rqctl ${args.join(' ')}`).not.toContain(`node_modules/${heavy.replace(/^\//, '')}`);
    }
  });
});
