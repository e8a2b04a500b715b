import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateFiles, writeGenerated } from '../../src/deploy/generate/generate.js';

/**
 * The generated compose file as `docker compose config` reads it, with nothing but REDIS_PASSWORD
 * set (no Docker engine needed). docker-compose v1 comes from apt (scripts/setup.sh installs it for CI);
 * the v2 plugin is checked where it exists.
 */
const HAVE_V1 = spawnSync('docker-compose', ['version'], { encoding: 'utf8' }).status === 0;
const HAVE_V2 = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' }).status === 0;
if (!HAVE_V1)
  console.warn('skipping the docker-compose (v1) config checks: docker-compose is not installed (scripts/setup.sh with RQCTL_SETUP_DOCKER=1 installs it)');
if (!HAVE_V2) console.warn('skipping the docker compose (v2) config checks: the compose plugin is not installed (Debian ships only docker-compose v1)');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function generated(topology: 'split' | 'single'): string {
  const dir = mkdtempSync(join(tmpdir(), 'rqctl-compose-'));
  dirs.push(dir);
  writeGenerated(dir, generateFiles({ topology }));
  return dir;
}

const onlyPassword = (extra: Record<string, string> = {}) => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...extra });

describe.each([
  ['docker-compose (v1)', HAVE_V1, ['docker-compose']],
  ['docker compose (v2)', HAVE_V2, ['docker', 'compose']],
])('%s config', (_name, available, cmd) => {
  it.skipIf(!available).each(['split', 'single'] as const)('accepts the %s topology with only REDIS_PASSWORD set, and refuses it without', (topology) => {
    const dir = generated(topology);
    const run = (env: Record<string, string>, ...args: string[]) =>
      spawnSync(cmd[0], [...cmd.slice(1), '-f', join(dir, 'docker-compose.prod.yml'), 'config', ...args], { cwd: dir, env, encoding: 'utf8' });
    const ok = run(onlyPassword({ REDIS_PASSWORD: 'pw-from-ci' }), '-q');
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stderr).not.toMatch(/WARNING/i);
    const missing = run(onlyPassword(), '-q');
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toContain('REDIS_PASSWORD');
  });
});
