import { mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { generateFiles, generateInto } from '../../../src/deploy/generate/generate.js';
import { renderAclFiles, writeAclFiles, type AclSettings } from '../../../src/deploy/acl/aclfiles.js';
import { parseAclFile, passwordRule, summarizeRules } from '../../../src/redis/acl/aclfile.js';
import { validateFiles } from '../../../src/deploy/validate/index.js';
import { RqctlError } from '../../../src/errors.js';

const dirs: string[] = [];
const temp = () => {
  const d = mkdtempSync(join(tmpdir(), 'rqctl-acl-unit-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const passwords = { 'rqctl-worker': 'pw-worker', app: 'pw-app', operator: 'pw-operator', healthcheck: 'pw-health' };
const settings = (over: Partial<AclSettings['scope']> = {}): AclSettings => ({
  scope: { queuePrefix: 'bull', cachePrefix: '', sessionKeys: ['session:*'], ...over },
  passwords,
});

describe('config generate --acl', () => {
  it('mounts an aclfile read-only into each Redis, drops --requirepass, logs the app in as rqctl-worker and the healthchecks as healthcheck', () => {
    const files = Object.fromEntries(generateFiles({ acl: true }).map((f) => [f.path, f.content]));
    const compose = parse(files['docker-compose.prod.yml'], { merge: true });
    for (const [name, acl] of [
      ['redis-queue', 'users-queue.acl'],
      ['redis-cache', 'users-cache.acl'],
    ]) {
      const svc = compose.services[name];
      expect(svc.volumes).toContain(`./docker/${acl}:/usr/local/etc/redis/users.acl:ro`);
      expect(svc.command.join(' ')).not.toMatch(/requirepass|REDIS_PASSWORD/);
      expect(svc.command.join(' ')).toMatch(/exec docker-entrypoint\.sh redis-server \/usr\/local\/etc\/redis\/redis\.conf$/);
      expect(svc.healthcheck.test.join(' ')).toMatch(/redis-cli --user healthcheck ping/);
      expect(svc.environment.REDISCLI_AUTH).toMatch(/^\$\{REDIS_ACL_HEALTHCHECK_PASSWORD:\?/);
      expect(svc.tmpfs).toEqual(['/run/redis']);
      expect(svc.cap_add).toContain('DAC_OVERRIDE');
    }
    expect(compose.services.app.environment).toMatchObject({
      REDIS_USERNAME: 'rqctl-worker',
      REDIS_PASSWORD: expect.stringMatching(/^\$\{REDIS_ACL_WORKER_PASSWORD:\?/),
    });
    for (const conf of [files['docker/redis-queue.conf'], files['docker/redis-cache.conf']]) {
      expect(conf).toMatch(/^aclfile \/run\/redis\/users\.acl$/m);
      expect(conf).toMatch(/^rename-command FLUSHALL ""$/m);
    }
    expect(files['.env.production.example']).toMatch(/^REDIS_ACL_WORKER_PASSWORD=$/m);
    expect(files['.env.production.example']).not.toMatch(/^REDIS_PASSWORD=/m);
    expect(JSON.stringify(files)).not.toMatch(/\{\{[#^/]/);
  });

  it('single topology: one aclfile, and redis.conf says users are told apart by key pattern', () => {
    const files = Object.fromEntries(generateFiles({ acl: true, topology: 'single' }).map((f) => [f.path, f.content]));
    const compose = parse(files['docker-compose.prod.yml'], { merge: true });
    expect(compose.services.redis.volumes).toContain('./docker/users.acl:/usr/local/etc/redis/users.acl:ro');
    expect(files['docker/redis.conf']).toMatch(/cannot be limited to a DB/);
  });

  it('adds docker/*.acl to .gitignore once, keeping what the file held', () => {
    const out = temp();
    writeFileSync(join(out, '.gitignore'), 'node_modules/');
    const first = generateInto(out, { acl: true });
    expect(first.files.find((f) => f.path === '.gitignore')).toEqual({ path: '.gitignore', status: 'written' });
    const again = generateInto(out, { acl: true });
    expect(again.files.find((f) => f.path === '.gitignore')).toEqual({ path: '.gitignore', status: 'unchanged' });
    const text = readFileSync(join(out, '.gitignore'), 'utf8');
    expect(text.startsWith('node_modules/\n')).toBe(true);
    expect(text.match(/^docker\/\*\.acl$/gm)).toHaveLength(1);
  });

  it('the generated ACL stack validates with no error or warning once its aclfiles exist, and says when they do not', async () => {
    const out = temp();
    generateInto(out, { acl: true });
    const env = { REDIS_ACL_WORKER_PASSWORD: 'x', REDIS_ACL_HEALTHCHECK_PASSWORD: 'y' };
    const files = ['docker-compose.prod.yml', 'supervisord.prod.conf'];
    const before = await validateFiles(files, { cwd: out, env });
    expect(
      before.findings
        .filter((f) => f.rule === 'acl-file-missing')
        .map((f) => f.message.split(',')[0])
        .sort(),
    ).toEqual(['docker/users-cache.acl', 'docker/users-queue.acl']);
    writeAclFiles(join(out, 'docker'), 'split', settings());
    const after = await validateFiles(files, { cwd: out, env });
    expect(after.summary).toMatchObject({ error: 0, warning: 0 });
    expect(after.findings.filter((f) => f.rule.startsWith('acl-')).map((f) => f.rule)).toEqual(['acl-shared-server']);
  });
});

describe('aclfiles (rqctl config acl)', () => {
  it('hashes the passwords, turns the default user off, and writes mode 0600', () => {
    const out = temp();
    const report = writeAclFiles(out, 'split', settings());
    expect(report.files.map((f) => [f.path.split('/').pop(), f.status])).toEqual([
      ['users-queue.acl', 'written'],
      ['users-cache.acl', 'written'],
    ]);
    for (const f of report.files) {
      expect(statSync(f.path).mode & 0o777).toBe(0o600);
      const text = readFileSync(f.path, 'utf8');
      for (const p of Object.values(passwords)) {
        expect(text).not.toContain(p);
        expect(text).toContain(passwordRule(p));
      }
      const parsed = parseAclFile(text);
      expect(parsed.problems).toEqual([]);
      expect(parsed.users.map((u) => u.name)).toEqual(['default', 'rqctl-worker', 'app', 'operator', 'healthcheck']);
      expect(summarizeRules(parsed.users[0].rules).on).toBe(false);
    }
    expect(writeAclFiles(out, 'split', settings()).files.map((f) => f.status)).toEqual(['unchanged', 'unchanged']);
  });

  it('a missing password is exit 2 naming every unset variable, and writes nothing', () => {
    const out = temp();
    let err: unknown;
    try {
      writeAclFiles(out, 'single', { ...settings(), passwords: { 'rqctl-worker': 'x', app: 'y' } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RqctlError);
    expect((err as RqctlError).exitCode).toBe(2);
    expect((err as RqctlError).message).toBe('REDIS_ACL_OPERATOR_PASSWORD, REDIS_ACL_HEALTHCHECK_PASSWORD are not set: no aclfile was written');
    expect(() => statSync(join(out, 'users.acl'))).toThrow();
  });

  it('never writes through a symbolic link planted at an aclfile', () => {
    const out = temp();
    const victim = join(out, 'victim.txt');
    writeFileSync(victim, 'keep me');
    symlinkSync(victim, join(out, 'users.acl'));
    expect(() => writeAclFiles(out, 'single', settings())).toThrow(/symbolic link/);
    expect(readFileSync(victim, 'utf8')).toBe('keep me');
  });

  it('key patterns: the queue prefix escaped, the cache prefix, or the cache families on a shared server', () => {
    const [queue, cache] = renderAclFiles(['queue', 'cache'], settings({ queuePrefix: 'b*q', cachePrefix: '' }));
    expect(queue.content).toMatch(/^user rqctl-worker on #\w+ resetchannels resetkeys ~b\\\*q:\* ~raffles ~raffle:\* -@all /m);
    expect(cache.content).toMatch(/^user rqctl-worker on #\w+ resetchannels resetkeys ~\* -@all /m);
    expect(cache.content).toMatch(/^user app on #\w+ resetchannels resetkeys %R~\* -@all /m);
    const [single] = renderAclFiles(['single'], settings());
    expect(single.content).toMatch(/\(~crypto_\* ~stock_\* ~market_news_\* -@all \+set /);
    expect(single.content).toMatch(/\(%R~crypto_\* %R~stock_\* %R~market_news_\* -@all \+get /);
    const [prefixed] = renderAclFiles(['single'], settings({ cachePrefix: 'api:' }));
    expect(prefixed.content).toMatch(/\(~api:\* -@all \+set /);
    expect(() => renderAclFiles(['single'], settings({ sessionKeys: ['my session:*'] }))).toThrow(/REDIS_ACL_SESSION_KEYS "my session:\*"/);
  });
});

describe('acl-* rules of config validate', () => {
  const check = async (text: string) => {
    const out = temp();
    writeFileSync(join(out, 'users.acl'), text);
    return validateFiles(['users.acl'], { cwd: out });
  };

  it('a file without `user default` leaves the default user on: acl-default-on', async () => {
    const r = await check('user app on #abc ~bull:* -@all +get\n');
    expect(r.findings.map((f) => [f.rule, f.severity, f.line])).toEqual([['acl-default-on', 'error', 1]]);
  });

  it('nopass, +@all on ~* for a user other than operator, a comment', async () => {
    const r = await check(
      [
        'user default off',
        'user operator on #abc ~* &* +@all',
        'user app on nopass ~* +@all -flushall',
        'user worker on #abc allkeys allcommands',
        '# a comment',
      ].join('\n'),
    );
    expect(r.findings.map((f) => [f.rule, f.line, f.path])).toEqual([
      ['acl-nopass', 3, 'user app'],
      ['acl-user-too-broad', 3, 'user app'],
      ['acl-user-too-broad', 4, 'user worker'],
      ['acl-file-invalid', 5, ''],
    ]);
  });

  it('the files rqctl writes pass every rule', async () => {
    const [file] = renderAclFiles(['single'], settings());
    const r = await check(file.content);
    expect(r.findings).toEqual([]);
  });
});
