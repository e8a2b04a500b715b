import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../../src/config/resolve.js';
import { loadJobModule } from '../../src/jobs/load.js';
import { findJobType } from '../../src/jobs/registry.js';
import { nextRunOfEachEntry } from '../../src/runtime/up.js';

describe('worker configuration', () => {
  it('RQCTL_EXTRA_JOBS lists extra job modules; worker.grace defaults to 10 s', () => {
    const cfg = resolveConfig({ env: { RQCTL_EXTRA_JOBS: './a.js, ./b.js' }, cwd: tmpdir() });
    expect(cfg.jobs.modules).toEqual(['./a.js', './b.js']);
    expect(cfg.worker.grace).toBe(10);
    expect(resolveConfig({ env: {}, cwd: tmpdir() }).jobs.modules).toEqual([]);
  });

  it('loads a job module relative to the working directory, and rejects one that is not a job type', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rqctl-jobs-'));
    try {
      writeFileSync(
        join(dir, 'good.mjs'),
        `export default { name: 'UnitGood', schema: { safeParse: (d) => ({ success: true, data: d }) }, async process() { return 1 } };`,
      );
      writeFileSync(join(dir, 'bad.mjs'), `export default [{ name: 'UnitBad', schema: {}, async process() {} }];`);
      const loaded = await loadJobModule('./good.mjs', dir);
      expect(loaded.map((t) => t.name)).toEqual(['UnitGood']);
      // A relative path without "./" (as an operator writes it in RQCTL_EXTRA_JOBS) is a file too.
      mkdirSync(join(dir, 'jobs'));
      writeFileSync(
        join(dir, 'jobs', 'plain.mjs'),
        `export default { name: 'UnitPlainPath', schema: { safeParse: (d) => ({ success: true, data: d }) }, async process() { return 1 } };`,
      );
      expect((await loadJobModule('jobs/plain.mjs', dir)).map((t) => t.name)).toEqual(['UnitPlainPath']);
      expect(findJobType('UnitGood')).toMatchObject({ queue: 'default' });
      await expect(loadJobModule('./bad.mjs', dir)).rejects.toMatchObject({
        exitCode: 2,
        message: expect.stringContaining('UnitBad: schema must be a zod schema'),
      });
      await expect(loadJobModule('./missing.mjs', dir)).rejects.toMatchObject({ exitCode: 2, code: 'JOB_MODULE' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('computes the next run of each schedule entry in its timezone', () => {
    const cfg = resolveConfig({ env: {}, cwd: tmpdir() });
    const runs = nextRunOfEachEntry(cfg, new Date('2025-01-01T10:07:30Z'));
    expect(runs).toContainEqual({ name: 'raffles:update-statuses', next: '2025-01-01T10:10:00.000Z' });
    expect(runs).toContainEqual({ name: 'raffles:select-winners', next: '2025-01-01T11:00:00.000Z' });
    expect(runs).toContainEqual({ name: 'refresh-crypto-cache', next: '2025-01-01T10:15:00.000Z' });
  });
});
