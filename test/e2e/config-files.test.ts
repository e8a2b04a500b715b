import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, runCli, tempCwd } from '../helpers/cli.js';

/** `rqctl config generate | validate | rules` as an operator runs them (the built CLI, a clean environment). */
const dirs: string[] = [];
const cwd = () => {
  const d = tempCwd();
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The catalogue of docs/validate.md: ids and severities are contracts. */
const DOCUMENTED_RULES: Record<string, string> = {
  'compose-schema': 'error',
  'redis-no-auth': 'error',
  'redis-password-literal': 'warning',
  'redis-password-cmdline': 'warning',
  'redis-port-public': 'error',
  'redis-protected-mode-off': 'error',
  'redis-dangerous-commands': 'warning',
  'redis-no-maxmemory': 'warning',
  'redis-queue-eviction': 'error',
  'redis-queue-persistence': 'warning',
  'redis-memory-headroom': 'warning',
  'redis-debug-command': 'warning',
  'redis-conf-invalid': 'error',
  'docker-socket-mounted': 'error',
  'container-hardening': 'info',
  'supervisor-parse': 'error',
  'supervisor-duplicate': 'error',
  'supervisor-process-name': 'error',
  'supervisor-autorestart': 'warning',
  'supervisor-root-user': 'warning',
  'supervisor-http-exposed': 'error',
  'supervisor-socket-perms': 'warning',
  'timeout-chain': 'error',
};

describe('rqctl config generate', () => {
  it('writes the files, validates clean, and never overwrites without --force', async () => {
    const dir = cwd();
    const first = await runCli(['config', 'generate', '--json'], { cwd: dir });
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.json.files.map((f: any) => [f.path, f.status])).toEqual([
      ['docker-compose.prod.yml', 'written'],
      ['supervisord.prod.conf', 'written'],
      ['docker/Dockerfile', 'written'],
      ['docker/redis-queue.conf', 'written'],
      ['docker/redis-cache.conf', 'written'],
      ['.env.production.example', 'written'],
    ]);
    for (const f of first.json.files) expect(existsSync(join(dir, f.path))).toBe(true);

    const validate = await runCli(['config', 'validate'], { cwd: dir });
    expect(validate.exitCode, validate.stdout).toBe(0);
    expect(validate.stdout).toMatch(/^0 errors, \d+ warnings?, \d+ info in 4 files$/m);

    // Again with other options: the files differ, so nothing is written and the files are named.
    const again = await runCli(['config', 'generate', '--workers', '5'], { cwd: dir });
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toContain('docker-compose.prod.yml');
    expect(again.stderr).toContain('supervisord.prod.conf');
    expect(again.stderr).toContain('--force');
    expect(readFileSync(join(dir, 'supervisord.prod.conf'), 'utf8')).toMatch(/^numprocs=3$/m);

    const forced = await runCli(['config', 'generate', '--workers', '5', '--force'], { cwd: dir });
    expect(forced.exitCode).toBe(0);
    expect(forced.stdout).toMatch(/wrote\s+supervisord\.prod\.conf/);
    expect(forced.stdout).toMatch(/unchanged\s+docker\/redis-cache\.conf/);
    expect(readFileSync(join(dir, 'supervisord.prod.conf'), 'utf8')).toMatch(/^numprocs=5$/m);
  });

  it('--out writes elsewhere; --topology single writes docker/redis.conf, and validate reports its one eviction error with the fix', async () => {
    const dir = cwd();
    const r = await runCli(['config', 'generate', '--out', 'deploy', '--topology', 'single'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(existsSync(join(dir, 'deploy/docker/redis.conf'))).toBe(true);
    const v = await runCli(['config', 'validate', '--json'], { cwd: join(dir, 'deploy') });
    expect(v.exitCode).toBe(4);
    const errors = v.json.findings.filter((f: any) => f.severity === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ rule: 'redis-queue-eviction', file: 'docker/redis.conf', path: 'maxmemory-policy' });
    expect(errors[0].fix).toContain('maxmemory-policy noeviction');
  });

  it('refuses bad options with exit 2', async () => {
    expect((await runCli(['config', 'generate', '--topology', 'triple'], { cwd: cwd() })).exitCode).toBe(2);
    expect((await runCli(['config', 'generate', '--workers', '0'], { cwd: cwd() })).exitCode).toBe(2);
  });
});

describe('rqctl config validate', () => {
  const oldStack = join(ROOT, 'test/fixtures/deploy/old-stack');

  it('finds the old stack’s defects: exit 4, the JSON shape of docs/validate.md', async () => {
    const r = await runCli(['config', 'validate', '--json'], { cwd: oldStack });
    expect(r.exitCode).toBe(4);
    expect(Object.keys(r.json.summary).sort()).toEqual(['error', 'info', 'warning']);
    const rules = new Set(r.json.findings.map((f: any) => f.rule));
    for (const id of ['redis-no-auth', 'redis-port-public', 'redis-queue-eviction', 'redis-queue-persistence', 'supervisor-process-name', 'timeout-chain'])
      expect(rules).toContain(id);
    expect(r.json.summary.error).toBe(r.json.findings.filter((f: any) => f.severity === 'error').length);
    for (const f of r.json.findings) expect(Object.keys(f).sort()).toEqual(['file', 'fix', 'line', 'message', 'path', 'rule', 'severity']);
  });

  it('reads the human table: file, line, severity, rule, message and fix', async () => {
    const r = await runCli(['config', 'validate', 'docker-compose.prod.yml', '.docker/supervisord.prod.conf'], { cwd: oldStack });
    expect(r.exitCode).toBe(4);
    expect(r.stdout).toMatch(/^docker-compose\.prod\.yml$/m);
    expect(r.stdout).toMatch(/^\s+24\s+error\s+redis-port-public\s+service "redis" publishes Redis port/m);
    expect(r.stdout).toMatch(/^\s+fix: publish on loopback only/m);
    expect(r.stdout).toMatch(/^\d+ errors, \d+ warnings, \d+ info in 2 files$/m);
  });

  it('gives SARIF 2.1.0 with --format sarif', async () => {
    const r = await runCli(['config', 'validate', '--format', 'sarif'], { cwd: oldStack });
    expect(r.exitCode).toBe(4);
    expect(r.json.version).toBe('2.1.0');
    expect(r.json.runs[0].tool.driver.name).toBe('rqctl');
    expect(r.json.runs[0].results.length).toBeGreaterThan(5);
  });

  it('--strict fails on warnings too; infos never fail', async () => {
    const dir = cwd();
    await runCli(['config', 'generate'], { cwd: dir });
    expect((await runCli(['config', 'validate'], { cwd: dir })).exitCode).toBe(0);
    expect((await runCli(['config', 'validate', '--strict'], { cwd: dir })).exitCode).toBe(4);
  });

  it('interpolates from the environment and .env beside the compose file, and from --env-file', async () => {
    const dir = cwd();
    mkdirSync(join(dir, 'p'));
    writeFileSync(
      join(dir, 'p/docker-compose.yml'),
      'services:\n  redis:\n    image: redis:7\n    command: ["redis-server", "--requirepass", "${REDIS_PASSWORD}"]\n',
    );
    const noAuth = (r: any) => r.json.findings.some((f: any) => f.rule === 'redis-no-auth');
    // Unset here is unknown, not empty (docs/validate.md, "What is not checked"): not asserted, said in an info.
    const unset = await runCli(['config', 'validate', '--json', 'p/docker-compose.yml'], { cwd: dir });
    expect(noAuth(unset)).toBe(false);
    expect(unset.json.findings.filter((f: any) => f.rule === 'not-checked').map((f: any) => f.message)).toEqual([expect.stringContaining('REDIS_PASSWORD')]);
    writeFileSync(join(dir, 'p/.env'), 'REDIS_PASSWORD=\n');
    expect(noAuth(await runCli(['config', 'validate', '--json', 'p/docker-compose.yml'], { cwd: dir }))).toBe(true);
    rmSync(join(dir, 'p/.env'));
    expect(noAuth(await runCli(['config', 'validate', '--json', 'p/docker-compose.yml'], { cwd: dir, env: { REDIS_PASSWORD: 'from-env' } }))).toBe(false);
    writeFileSync(join(dir, 'prod.env'), 'REDIS_PASSWORD=from-env-file\n');
    expect(noAuth(await runCli(['--env-file', 'prod.env', 'config', 'validate', '--json', 'p/docker-compose.yml'], { cwd: dir }))).toBe(false);
    writeFileSync(join(dir, 'p/.env'), 'REDIS_PASSWORD=null\n');
    const nullPw = await runCli(['config', 'validate', '--json', 'p/docker-compose.yml'], { cwd: dir });
    expect(nullPw.json.findings.find((f: any) => f.rule === 'redis-no-auth').message).toContain('"null"');
  });

  it('exits 2 for a missing file, a file of unknown kind, or no files at all', async () => {
    const dir = cwd();
    const missing = await runCli(['config', 'validate', 'nope.yml'], { cwd: dir });
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain('nope.yml');
    writeFileSync(join(dir, 'notes.txt'), 'hello\n');
    expect((await runCli(['config', 'validate', 'notes.txt'], { cwd: dir })).exitCode).toBe(2);
    const none = await runCli(['config', 'validate'], { cwd: dir });
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toContain('rqctl config generate');
  });

  it('judges a redis.conf mounted by a compose service as that service’s config (not alone)', async () => {
    const dir = cwd();
    cpSync(join(ROOT, 'test/fixtures/deploy/mounted-conf'), dir, { recursive: true });
    const together = await runCli(['config', 'validate', '--json', 'docker-compose.yml', 'redis.conf'], { cwd: dir, env: { REDIS_PASSWORD: 'x' } });
    expect(together.json.findings.filter((f: any) => f.rule === 'redis-no-auth')).toEqual([]);
    const alone = await runCli(['config', 'validate', '--json', 'redis.conf'], { cwd: dir });
    expect(alone.json.findings.filter((f: any) => f.rule === 'redis-no-auth')).toHaveLength(1);
  });
});

describe('rqctl config rules', () => {
  it('prints the catalogue with the documented ids and severities (docs/validate.md)', async () => {
    const r = await runCli(['config', 'rules', '--json']);
    expect(r.exitCode).toBe(0);
    const got = Object.fromEntries(r.json.rules.map((x: any) => [x.id, x.severity]));
    for (const [id, severity] of Object.entries(DOCUMENTED_RULES)) expect(got[id], id).toBe(severity);
    for (const rule of r.json.rules) expect(rule.description.length).toBeGreaterThan(10);
    const human = await runCli(['config', 'rules']);
    expect(human.stdout).toMatch(/^redis-queue-eviction\s+error\s+/m);
  });
});
