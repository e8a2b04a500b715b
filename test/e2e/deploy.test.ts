import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli, tempCwd } from '../helpers/cli.js';

/** `rqctl deploy` without a Docker engine: the plan, the CI gate, and the one-line "no engine". */

const NO_ENGINE = { DOCKER_HOST: `unix://${join(ROOT, 'no-such-dir', 'docker.sock')}`, REDIS_PASSWORD: 'ci-secret-1' };

/** A project folder with the files `rqctl config generate` writes. */
async function generated(): Promise<string> {
  const dir = tempCwd();
  const r = await runCli(['config', 'generate', '--out', dir], { cwd: dir });
  if (r.exitCode !== 0) throw new Error(`config generate failed: ${r.stderr}`);
  return dir;
}

describe('rqctl deploy --dry-run', () => {
  it('--json prints the plan: validate, build, up, verify; contacts nothing, exit 0', async () => {
    const cwd = tempCwd();
    const r = await runCli(['deploy', '--dry-run', '--json'], { cwd, env: NO_ENGINE });
    expect(r.exitCode).toBe(0);
    expect(r.json.steps.map((s: { name: string }) => s.name)).toEqual(['validate', 'build', 'up', 'verify']);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/error/);
  });

  it('human plan shows the compose commands with -f and -p; --check plans validation only', async () => {
    const cwd = await generated();
    const r = await runCli(['deploy', '--dry-run', '-p', 'shop', '--timeout', '90s'], { cwd, env: NO_ENGINE });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('docker compose -f docker-compose.prod.yml -p shop build');
    expect(r.stdout).toContain('docker compose -f docker-compose.prod.yml -p shop up -d --remove-orphans');
    expect(r.stdout).toMatch(/within 90s/);
    expect(r.stdout).toContain('nothing was contacted or changed');
    const check = await runCli(['deploy', '--dry-run', '--check', '--json'], { cwd, env: NO_ENGINE });
    expect(check.json.steps).toEqual([expect.objectContaining({ name: 'validate' })]);
  });
});

describe('rqctl deploy without an engine', () => {
  it('says so in one line and exits 3', async () => {
    const cwd = await generated();
    const r = await runCli(['deploy'], { cwd, env: NO_ENGINE });
    expect(r.exitCode).toBe(3);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error: no Docker engine reachable at unix:\/\/.*no-such-dir\/docker\.sock/);
    expect(r.stdout).toBe('');
  });

  it('--json: the error document on stderr, nothing on stdout', async () => {
    const cwd = await generated();
    const r = await runCli(['deploy', '--json'], { cwd, env: { ...NO_ENGINE, DOCKER_HOST: 'tcp://127.0.0.1:1' } });
    expect(r.exitCode).toBe(3);
    expect(r.stdout).toBe('');
    expect(JSON.parse(r.stderr.trim())).toEqual({
      error: expect.objectContaining({ code: 'DOCKER_UNREACHABLE', message: expect.stringContaining('tcp://127.0.0.1:1') }),
    });
  });

  it('a missing compose file or --supervisor-file is a usage error (exit 2)', async () => {
    const cwd = await generated();
    expect((await runCli(['deploy', '-f', 'nope.yml'], { cwd, env: NO_ENGINE })).exitCode).toBe(2);
    const r = await runCli(['deploy', '--check', '--supervisor-file', 'nope.conf'], { cwd, env: NO_ENGINE });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('nope.conf does not exist');
  });
});

describe('rqctl deploy --check (the CI gate: validation only, no engine needed)', () => {
  it('passes on the files `rqctl config generate` writes, with the summary in --json', async () => {
    const cwd = await generated();
    const r = await runCli(['deploy', '--check', '--json'], { cwd, env: NO_ENGINE });
    expect(r.exitCode).toBe(0);
    expect(r.json).toMatchObject({ ok: true, summary: { error: 0 }, steps: [{ name: 'validate' }] });
    expect(r.json.supervisorFile).toBe('supervisord.prod.conf');
  });

  it('without supervisord.prod.conf beside the compose file: a warning, still valid', async () => {
    const cwd = await generated();
    rmSync(join(cwd, 'supervisord.prod.conf'));
    const r = await runCli(['deploy', '--check', '--json'], { cwd, env: NO_ENGINE });
    expect(r.exitCode).toBe(0);
    expect(r.json.findings).toContainEqual(
      expect.objectContaining({ severity: 'warning', file: 'supervisord.prod.conf', message: expect.stringContaining('not found') }),
    );
    expect(r.stderr).toMatch(/warning: supervisord\.prod\.conf not found/);
  });

  it('exits 4 on the old stack’s insecure files, naming the rules; --force does not open the gate', async () => {
    const cwd = tempCwd();
    cpSync(join(ROOT, 'test/fixtures/deploy/old-stack'), cwd, { recursive: true });
    const args = ['deploy', '--check', '--supervisor-file', '.docker/supervisord.prod.conf'];
    const r = await runCli(args, { cwd, env: NO_ENGINE });
    expect(r.exitCode).toBe(4);
    for (const rule of ['redis-port-public', 'redis-no-auth', 'redis-queue-eviction', 'supervisor-process-name', 'timeout-chain'])
      expect(r.stdout).toContain(rule);
    expect(r.stdout).toMatch(/invalid: [1-9]\d* errors/);
    expect(r.stderr).toMatch(/✗ validate\s+failed/);
    expect((await runCli([...args, '--force'], { cwd, env: NO_ENGINE })).exitCode).toBe(4);
    // A full deploy checks the engine first: without one, that is what it says (exit 3).
    expect((await runCli(['deploy', '--supervisor-file', '.docker/supervisord.prod.conf'], { cwd, env: NO_ENGINE })).exitCode).toBe(3);
  });
});
