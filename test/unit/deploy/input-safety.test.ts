import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { validateFiles } from '../../../src/deploy/validate/index.js';
import { toSarif } from '../../../src/deploy/validate/sarif.js';
import { RULES } from '../../../src/deploy/validate/rules/index.js';
import { printValidation } from '../../../src/cli/render/config.js';
import type { Output } from '../../../src/cli/render.js';
import { summarize, type Finding } from '../../../src/deploy/validate/finding.js';

/**
 * Issue 13, items 1 and 3: what `config validate` (and `deploy --check`, which runs the same code) reads
 * and prints when a compose file points at host files, and what it does with hostile input (alias
 * bombs, huge files). The files a compose file mounts are read only when they are regular files
 * inside the project, at most 1 MiB; secret values never reach a finding.
 */
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'rqctl-input-safety-'));
  dirs.push(d);
  return d;
}

/** A project folder inside a temporary folder, so there is an "outside the project" next to it. */
function project(compose: string): { root: string; dir: string } {
  const root = tempDir();
  const dir = join(root, 'project');
  mkdirSync(dir);
  writeFileSync(join(dir, 'docker-compose.yml'), compose);
  return { root, dir };
}

function redisMounting(source: string): string {
  return [
    'services:',
    '  redis:',
    '    image: redis:7',
    '    command: ["redis-server", "/usr/local/etc/redis/redis.conf"]',
    '    volumes:',
    `      - ${source}:/usr/local/etc/redis/redis.conf:ro`,
    '',
  ].join('\n');
}

/** Everything an operator (or a CI log, or a SARIF upload) could see of a result. */
function everything(result: Awaited<ReturnType<typeof validateFiles>>): string {
  return JSON.stringify(result) + JSON.stringify(toSarif(result.findings, RULES, '0.0.0'));
}

const SHADOW_LINES = [
  'root:$6$saltsalt$c2VjcmV0LWhhc2gtb2YtdGhlLXJvb3QtdXNlcg:19000:0:99999:7:::',
  'deploy:$6$pepper$YW5vdGhlci1zZWNyZXQtaGFzaA:19000:0:99999:7:::',
];

describe('issue 13.1: validate reads only regular files inside the project and never prints secrets', () => {
  it('13.1 a compose file mounting a host file outside the project as redis.conf: not read, not quoted, said so', async () => {
    const { root, dir } = project(redisMounting('../outside/shadow'));
    mkdirSync(join(root, 'outside'));
    writeFileSync(join(root, 'outside/shadow'), `${SHADOW_LINES.join('\n')}\n`);
    const r = await validateFiles(['docker-compose.yml'], { cwd: dir, env: {} });
    const seen = everything(r);
    for (const secret of ['saltsalt', 'c2VjcmV0', 'pepper', 'YW5vdGhlci1zZWNyZXQ', 'root:$6$']) expect(seen).not.toContain(secret);
    const note = r.findings.find((f) => f.rule === 'not-checked' && /outside the project/.test(f.message));
    expect(note, JSON.stringify(r.findings, null, 2)).toBeDefined();
    // Nothing is asserted about a configuration that was not read.
    expect(r.findings.filter((f) => f.rule === 'redis-conf-invalid')).toEqual([]);
  });

  it('13.1 a symlink inside the project pointing outside is not followed', async () => {
    const { root, dir } = project(redisMounting('./redis.conf'));
    writeFileSync(join(root, 'passwd'), `${SHADOW_LINES.join('\n')}\n`);
    symlinkSync(join(root, 'passwd'), join(dir, 'redis.conf'));
    const r = await validateFiles(['docker-compose.yml'], { cwd: dir, env: {} });
    expect(everything(r)).not.toContain('saltsalt');
    expect(r.findings.some((f) => f.rule === 'not-checked' && /outside the project/.test(f.message))).toBe(true);
  });

  it('13.1 /dev/zero mounted as redis.conf: refused at once (a device, not a file), no endless read', async () => {
    const { dir } = project(redisMounting('/dev/zero'));
    const r = await validateFiles(['docker-compose.yml'], { cwd: dir, env: {} });
    expect(
      r.findings.some((f) => f.rule === 'not-checked' && /\/dev\/zero/.test(f.message)),
      JSON.stringify(r.findings, null, 2),
    ).toBe(true);
  }, 20_000);

  it('13.1 a FIFO mounted as redis.conf is never opened (opening one blocks until a writer comes)', async () => {
    const { dir } = project(redisMounting('./redis.conf'));
    execFileSync('mkfifo', [join(dir, 'redis.conf')]);
    const r = await validateFiles(['docker-compose.yml'], { cwd: dir, env: {} });
    expect(r.findings.some((f) => f.rule === 'not-checked' && /not a regular file/.test(f.message))).toBe(true);
  }, 20_000);

  it('13.1 /proc/self/environ mounted as redis.conf: not read, nothing of the environment printed', async () => {
    const { dir } = project(redisMounting('/proc/self/environ'));
    const r = await validateFiles(['docker-compose.yml'], { cwd: dir, env: {} });
    expect(everything(r)).not.toContain('PATH=');
    expect(r.findings.some((f) => f.rule === 'not-checked')).toBe(true);
  });

  it('13.1 ../.env.production mounted as redis.conf, or named as env_file: not read, its values never printed', async () => {
    const { root, dir } = project(
      [
        'services:',
        '  redis:',
        '    image: redis:7',
        '    command: ["redis-server", "/usr/local/etc/redis/redis.conf"]',
        '    volumes:',
        '      - ../.env.production:/usr/local/etc/redis/redis.conf:ro',
        '  app:',
        '    image: app',
        '    env_file: ../.env.production',
        '    command: ["sh", "-c", "redis-cli -a $$REDIS_PASSWORD ping"]',
        '',
      ].join('\n'),
    );
    writeFileSync(join(root, '.env.production'), 'REDIS_PASSWORD=prod-secret-0xdeadbeef\nAWS_SECRET_ACCESS_KEY=aws-secret-value-1234\n');
    const r = await validateFiles(['docker-compose.yml'], { cwd: dir, env: {} });
    const seen = everything(r);
    expect(seen).not.toContain('prod-secret-0xdeadbeef');
    expect(seen).not.toContain('aws-secret-value-1234');
    expect(r.findings.filter((f) => f.rule === 'not-checked' && /\.env\.production/.test(f.message)).length).toBeGreaterThanOrEqual(1);
  });

  it('13.1 a file inside the project over 1 MiB mounted as redis.conf: not read, said so', async () => {
    const { dir } = project(redisMounting('./redis.conf'));
    writeFileSync(join(dir, 'redis.conf'), `${'# padding line of a very large redis.conf\n'.repeat(30_000)}maxmemory 1gb\n`);
    const r = await validateFiles(['docker-compose.yml'], { cwd: dir, env: {} });
    expect(r.findings.some((f) => f.rule === 'not-checked' && /1 MiB/.test(f.message))).toBe(true);
  });

  it('13.1 a secret-bearing redis.conf line is never quoted: requirepass, masterauth, user …>pass', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'redis.conf'),
      [
        'requirepass "hunter2-literal" extra', // wrong argument count: refused, but its value stays out of the message
        'masterauth "unbalanced-master-secret',
        'user worker on >worker-secret-pw ~jobs:* notarule',
        'maxmemory 256mb # cache',
        '',
      ].join('\n'),
    );
    const r = await validateFiles(['redis.conf'], { cwd: dir, env: {} });
    const seen = everything(r);
    for (const secret of ['hunter2-literal', 'unbalanced-master-secret', 'worker-secret-pw']) expect(seen).not.toContain(secret);
    // The lines are still reported, by line number and directive.
    const invalid = r.findings.filter((f) => f.rule === 'redis-conf-invalid').map((f) => f.line);
    expect(invalid).toEqual([1, 2, 3, 4]);
    // A value that is not secret is still quoted, so the operator sees what is wrong.
    expect(r.findings.find((f) => f.line === 4)!.message).toContain('# cache');
  });

  it('13.1 a value interpolated from ${REDIS_PASSWORD} is masked wherever it would appear', async () => {
    const { dir } = project(
      [
        'services:',
        '  redis:',
        '    image: redis:7',
        '    command: ["redis-server", "--requirepass", "${REDIS_PASSWORD}", "--maxmemory", "${REDIS_PASSWORD}", "--bogus-directive", "${REDIS_PASSWORD}"]',
        '',
      ].join('\n'),
    );
    const r = await validateFiles(['docker-compose.yml'], { cwd: dir, env: { REDIS_PASSWORD: 'interpolated-s3cret' } });
    expect(r.findings.filter((f) => f.rule === 'redis-conf-invalid').length).toBeGreaterThanOrEqual(2);
    expect(everything(r)).not.toContain('interpolated-s3cret');
  });

  it('13.1 a file named on the command line that is not a regular file is refused (exit 2), not read', async () => {
    await expect(validateFiles(['/dev/zero'], { cwd: tempDir(), env: {} })).rejects.toThrow(/not a regular file/);
  }, 20_000);
});

describe('issue 13.3: hostile YAML and huge inputs finish with a clear finding', () => {
  it('13.3 a 416-byte YAML alias bomb in a compose file: compose-schema error, no expansion', async () => {
    const dir = tempDir();
    const bomb = [
      'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
      'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
      'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
      'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
      'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
      'f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]',
      'g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]',
      'h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]',
      'i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]',
      'services: {}',
      '',
    ].join('\n');
    expect(bomb.length).toBeLessThanOrEqual(416);
    writeFileSync(join(dir, 'docker-compose.yml'), bomb);
    const r = await validateFiles(['docker-compose.yml'], { cwd: dir, env: {} });
    const finding = r.findings.find((f) => f.rule === 'compose-schema' && /alias/i.test(f.message));
    expect(finding, JSON.stringify(r.findings)).toBeDefined();
    expect(finding!.severity).toBe('error');
  }, 30_000);

  it('13.3 a 5 MB compose file: not parsed, one clear error finding naming the limit', async () => {
    const dir = tempDir();
    const service = (i: number) => `  s${i}:\n    image: busybox:1.36\n    command: ["sh", "-c", "echo ${'x'.repeat(40)}"]\n`;
    let text = 'services:\n';
    for (let i = 0; text.length < 5 * 1024 * 1024; i++) text += service(i);
    writeFileSync(join(dir, 'docker-compose.yml'), text);
    const r = await validateFiles(['docker-compose.yml'], { cwd: dir, env: {} });
    expect(r.findings.map((f) => [f.rule, f.severity])).toEqual([['file-too-large', 'error']]);
    expect(r.findings[0].message).toMatch(/1 MiB/);
  }, 60_000);

  it('13.3 the text renderer is linear: 5 000 findings in one file are walked a bounded number of times', async () => {
    const findings: Finding[] = Array.from({ length: 5000 }, (_, i) => ({
      rule: 'redis-port-public',
      severity: 'error',
      file: 'docker-compose.yml',
      line: i + 1,
      path: `services.r${i}.ports[0]`,
      message: `service "r${i}" publishes Redis port 6379 on all interfaces`,
      fix: 'publish on loopback only',
    }));
    const result = { findings, summary: summarize(findings), files: [{ file: 'docker-compose.yml', kind: 'compose' as const }] };
    const lines: string[] = [];
    const identity = (s: string) => s;
    const out = { line: (s = '') => lines.push(s), c: { red: identity, yellow: identity, cyan: identity, bold: identity, dim: identity } } as unknown as Output;
    // Count the steps of every array walk while rendering (spread, for…of, Math.max(...)): copying the list
    // per finding makes that n²/2 (12.5 million here); a linear renderer stays within a few per finding.
    const original = Array.prototype[Symbol.iterator];
    let steps = 0;
    Array.prototype[Symbol.iterator] = function counted(this: unknown[]) {
      const it = original.call(this);
      return {
        next: () => {
          steps++;
          return it.next();
        },
        [Symbol.iterator]() {
          return this;
        },
      } as ArrayIterator<unknown>;
    };
    try {
      await printValidation(out, result, 'table');
    } finally {
      Array.prototype[Symbol.iterator] = original;
    }
    expect(lines.filter((l) => /^\s+\d+\s+error\s/.test(l))).toHaveLength(findings.length);
    expect(steps).toBeLessThan(findings.length * 20);
  });
});
