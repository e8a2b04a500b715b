import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { runCli, tempCwd } from '../helpers/cli.js';
import { createLineSink } from '../../src/cli/line-sink.js';
import { createTempBeside, writeFileSafely } from '../../src/util/safe-write.js';

/**
 * Issue 13, item 6: rqctl never writes through a symbolic link (`.rqctl/` files, `config generate`,
 * `failed export`), and its temporary files are created exclusively under unpredictable names.
 * Item 13 (part): `failed export --out` into a missing directory is exit 2 and leaves nothing behind.
 */

const plain = inject('plainRedisUrl');

/** A file some other user cares about, and a link to it planted where rqctl writes. */
function victim(dir: string): { path: string; content: string } {
  const path = join(dir, 'victim.txt');
  const content = 'precious\n';
  writeFileSync(path, content);
  chmodSync(path, 0o644);
  return { path, content };
}

function expectUntouched(v: { path: string; content: string }): void {
  expect(readFileSync(v.path, 'utf8')).toBe(v.content);
  expect(statSync(v.path).mode & 0o777).toBe(0o644);
}

describe('item 6: no write follows a symbolic link', () => {
  it('item 6: config generate refuses a symlink at a file it writes (exit 2, names the path, target untouched)', async () => {
    const cwd = tempCwd();
    const v = victim(tempCwd());
    symlinkSync(v.path, join(cwd, 'docker-compose.prod.yml'));
    const r = await runCli(['config', 'generate', '--out', cwd, '--force'], { cwd });
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toContain(`refusing to write ${join(cwd, 'docker-compose.prod.yml')}: it is a symbolic link`);
    expectUntouched(v);
    // All or nothing: no other file was written either.
    expect(readdirSync(cwd).sort()).toEqual(['docker-compose.prod.yml']);
  });

  it('item 6: config generate refuses a symlinked directory below --out (docker/ pointing elsewhere)', async () => {
    const cwd = tempCwd();
    const elsewhere = tempCwd();
    symlinkSync(elsewhere, join(cwd, 'docker'));
    const r = await runCli(['config', 'generate', '--out', cwd], { cwd });
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/refusing to write .*\/docker: it is a symbolic link/);
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  it('item 6: failed export --out refuses a symlink (exit 2) and writes nothing through it', async () => {
    const cwd = tempCwd();
    const v = victim(cwd);
    symlinkSync(v.path, join(cwd, 'failed.jsonl'));
    const r = await runCli(['failed', 'export', '--out', 'failed.jsonl', '--redis-url', plain], { cwd });
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toContain('failed.jsonl: it is a symbolic link');
    expectUntouched(v);
  });

  it("item 6: an export's temporary file is created exclusively: a link planted at the old predictable name (file.partial-<pid>) is never followed", async () => {
    const dir = tempCwd();
    const v = victim(dir);
    const out = join(dir, 'export.jsonl');
    symlinkSync(v.path, `${out}.partial-${process.pid}`);
    const sink = await createLineSink(out);
    await sink.write('{"id":"1"}');
    await sink.finish();
    expect(readFileSync(out, 'utf8')).toBe('{"id":"1"}\n');
    expectUntouched(v);
    // Only the export and what was there before: no temporary file left.
    expect(readdirSync(dir).sort()).toEqual(['export.jsonl', 'export.jsonl.partial-' + process.pid, 'victim.txt'].sort());
  });

  it('item 6: temporary names are unpredictable and O_EXCL; writeFileSafely replaces a file, never a link target', () => {
    const dir = tempCwd();
    const a = createTempBeside(join(dir, 'f'));
    const b = createTempBeside(join(dir, 'f'));
    expect(a.tempPath).not.toBe(b.tempPath);
    expect(a.tempPath).toMatch(/\/\.f\.[0-9a-f]{16}\.tmp$/);
    writeFileSafely(join(dir, 'g'), 'one');
    writeFileSafely(join(dir, 'g'), 'two', { mode: 0o600 });
    expect(readFileSync(join(dir, 'g'), 'utf8')).toBe('two');
    const v = victim(dir);
    symlinkSync(v.path, join(dir, 'h'));
    expect(() => writeFileSafely(join(dir, 'h'), 'evil')).toThrow(/it is a symbolic link/);
    expectUntouched(v);
  });

  it('item 6: rqctl up refuses a symlinked .rqctl file (the password file): exit 2, the target is neither read, chmod-ed nor written', async () => {
    const cwd = tempCwd();
    const v = victim(tempCwd());
    mkdirSync(join(cwd, '.rqctl'), { mode: 0o700 });
    symlinkSync(v.path, join(cwd, '.rqctl', 'redis-password'));
    const r = await runCli(['up', '--no-scheduler', '--redis-port', '0'], { cwd, timeoutMs: 30_000 });
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toContain(`${join(cwd, '.rqctl', 'redis-password')}: it is a symbolic link`);
    expectUntouched(v);
  });

  it('item 6: rqctl up refuses a symlinked .rqctl directory', async () => {
    const cwd = tempCwd();
    const elsewhere = tempCwd();
    symlinkSync(elsewhere, join(cwd, '.rqctl'));
    const r = await runCli(['up', '--no-scheduler', '--redis-port', '0'], { cwd, timeoutMs: 30_000 });
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toContain(`${join(cwd, '.rqctl')}: it is a symbolic link`);
    expect(readdirSync(elsewhere)).toEqual([]);
  });
});

describe('item 13: failed export into a missing directory', () => {
  it('item 13: failed export --out into a missing directory is exit 2 and leaves nothing behind (no .partial)', async () => {
    const cwd = tempCwd();
    const r = await runCli(['failed', 'export', '--out', 'no-such-dir/failed.jsonl', '--redis-url', plain], { cwd });
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/the directory .*no-such-dir does not exist/);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(readdirSync(cwd)).toEqual([]);
    expect(existsSync(join(cwd, 'no-such-dir'))).toBe(false);
  });
});
