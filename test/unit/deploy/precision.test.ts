import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { validateFiles } from '../../../src/deploy/validate/index.js';
import type { Finding } from '../../../src/deploy/validate/finding.js';

/**
 * Issue 17 (docs/validate.md, "What is not checked"): the seven kinds of false error seen on files
 * written by other people, and the three misses. Each test builds a small project the way real ones
 * are laid out and asserts what the operator sees.
 */
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function projectWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'rqctl-precision-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

async function validate(files: Record<string, string>, names: string[], env: Record<string, string> = {}): Promise<Finding[]> {
  const dir = projectWith(files);
  return (await validateFiles(names, { cwd: dir, env })).findings;
}

const show = (findings: Finding[]) => findings.map((f) => `${f.severity} ${f.rule} ${f.file}:${f.line} ${f.message}`).join('\n');
const rules = (findings: Finding[], rule: string) => findings.filter((f) => f.rule === rule);

describe('issue 17 false error 1: a supervisord include fragment (conf.d) is checked as a fragment', () => {
  const fragment = [
    '[program:laravel-worker]',
    'process_name=%(program_name)s_%(process_num)02d',
    'command=php /var/www/html/artisan queue:work redis --sleep=3 --tries=3 --timeout=90',
    'autorestart=true',
    'user=www-data',
    'numprocs=2',
    'stopwaitsecs=120',
    '',
  ].join('\n');

  it('17.1 a file with only [program:x] sections raises no supervisor-parse error', async () => {
    const findings = await validate({ 'docker/conf.d/laravel-worker.conf': fragment }, ['docker/conf.d/laravel-worker.conf']);
    expect(rules(findings, 'supervisor-parse'), show(findings)).toEqual([]);
    expect(
      findings.filter((f) => f.severity === 'error'),
      show(findings),
    ).toEqual([]);
  });

  it('17.1 the fragment is still checked: its program defects are found', async () => {
    const broken = fragment.replace('process_name=%(program_name)s_%(process_num)02d\n', '').replace('stopwaitsecs=120', 'stopwaitsecs=30');
    const findings = await validate({ 'supervisor/worker.conf': broken }, ['supervisor/worker.conf']);
    expect(rules(findings, 'supervisor-process-name'), show(findings)).toHaveLength(1);
    expect(rules(findings, 'timeout-chain'), show(findings)).toHaveLength(1);
    expect(rules(findings, 'supervisor-parse'), show(findings)).toEqual([]);
  });

  it('17.1 a main file (with [supervisord]-level sections but none of its own) is still one that supervisord refuses', async () => {
    const main = '[unix_http_server]\nfile=/tmp/supervisor.sock\n\n[program:w]\ncommand=sleep 1\n';
    const findings = await validate({ 'supervisord.conf': main }, ['supervisord.conf']);
    expect(rules(findings, 'supervisor-parse').map((f) => f.message)).toEqual([expect.stringContaining('no [supervisord] section')]);
  });
});

describe('issue 17 false error 2: a value from an env file or variable that is not available is unknown, not empty', () => {
  it('17.2 --requirepass ${REDIS_PASSWORD} with the variable unset: no redis-no-auth / protected-mode error, one info naming it; cmdline warning kept', async () => {
    const compose = 'services:\n  redis:\n    image: redis:7-alpine\n    command: redis-server --requirepass ${REDIS_PASSWORD} --appendonly yes\n';
    const findings = await validate({ 'docker-compose.yml': compose }, ['docker-compose.yml']);
    expect(rules(findings, 'redis-no-auth'), show(findings)).toEqual([]);
    expect(rules(findings, 'redis-protected-mode-off'), show(findings)).toEqual([]);
    const notes = rules(findings, 'not-checked').filter((f) => f.message.includes('REDIS_PASSWORD'));
    expect(notes, show(findings)).toHaveLength(1);
    expect(notes[0].severity).toBe('info');
    expect(rules(findings, 'redis-password-cmdline'), show(findings)).toHaveLength(1);
  });

  it('17.2 a password from an env_file that is missing: no redis-no-auth error, an info that says why', async () => {
    const compose = [
      'services:',
      '  redis:',
      '    image: redis:7',
      '    env_file: .env.production',
      '    command: ["sh", "-c", "exec redis-server --requirepass \\"$$REDIS_PASSWORD\\" --appendonly yes"]',
      '',
    ].join('\n');
    const findings = await validate({ 'docker-compose.yml': compose }, ['docker-compose.yml']);
    expect(rules(findings, 'redis-no-auth'), show(findings)).toEqual([]);
    expect(rules(findings, 'redis-protected-mode-off'), show(findings)).toEqual([]);
    expect(
      rules(findings, 'not-checked').some((f) => f.message.includes('.env.production')),
      show(findings),
    ).toBe(true);
    // The missing env_file itself is still reported.
    expect(rules(findings, 'compose-env-file-missing'), show(findings)).toHaveLength(1);
  });

  it('17.2 bitnami/redis whose REDIS_PASSWORD may come from a missing env_file: not asserted to have no password', async () => {
    const compose = 'services:\n  cache:\n    image: bitnami/redis:7.2\n    env_file:\n      - ./secrets/redis.env\n';
    const findings = await validate({ 'docker-compose.yml': compose }, ['docker-compose.yml']);
    expect(rules(findings, 'redis-no-auth'), show(findings)).toEqual([]);
    expect(rules(findings, 'not-checked').length, show(findings)).toBeGreaterThanOrEqual(1);
  });

  it('17.2 a variable that is known (set here) is still judged: set but empty is an error', async () => {
    const compose = 'services:\n  redis:\n    image: redis:7\n    command: redis-server --requirepass ${REDIS_PASSWORD}\n';
    const findings = await validate({ 'docker-compose.yml': compose, '.env': 'REDIS_PASSWORD=\n' }, ['docker-compose.yml']);
    expect(rules(findings, 'redis-no-auth'), show(findings)).toHaveLength(1);
  });
});

describe('issue 17 false error 3: directives are checked against the version the service runs', () => {
  const withConf = (image: string, conf: string) => ({
    'docker-compose.yml': [
      'services:',
      '  redis:',
      `    image: ${image}`,
      '    command: ["redis-server", "/usr/local/etc/redis/redis.conf"]',
      '    volumes:',
      '      - ./redis.conf:/usr/local/etc/redis/redis.conf:ro',
      '',
    ].join('\n'),
    'redis.conf': conf,
  });

  it('17.3 set-max-listpack-entries (7.2) on redis:7-alpine (7.x, latest 7.4) is accepted', async () => {
    const findings = await validate(withConf('redis:7-alpine', 'set-max-listpack-entries 128\nmaxmemory 100mb\n'), ['docker-compose.yml']);
    expect(rules(findings, 'redis-conf-invalid'), show(findings)).toEqual([]);
    expect(rules(findings, 'redis-conf-version'), show(findings)).toEqual([]);
  });

  it('17.3 the same directive on redis:7.0 is an error that names the version that added it', async () => {
    const findings = await validate(withConf('redis:7.0.15', 'set-max-listpack-entries 128\n'), ['docker-compose.yml']);
    expect(rules(findings, 'redis-conf-invalid').map((f) => f.message)).toEqual([expect.stringMatching(/7\.0.*7\.2|7\.2.*7\.0/)]);
  });

  it('17.3 Redis 6.2 refuses the 7.0 listpack names; valkey/valkey:8 knows its own directives', async () => {
    const old = await validate(withConf('redis:6.2-alpine', 'hash-max-listpack-entries 128\nhash-max-ziplist-entries 128\n'), ['docker-compose.yml']);
    expect(rules(old, 'redis-conf-invalid').map((f) => f.line)).toEqual([1]);
    const valkey = await validate(withConf('valkey/valkey:8', 'dual-channel-replication-enabled yes\nset-max-listpack-entries 128\n'), ['docker-compose.yml']);
    expect(rules(valkey, 'redis-conf-invalid'), show(valkey)).toEqual([]);
    const redis7 = await validate(withConf('redis:7.4', 'dual-channel-replication-enabled yes\n'), ['docker-compose.yml']);
    expect(rules(redis7, 'redis-conf-invalid'), show(redis7)).toHaveLength(1);
  });

  it('17.3 an unknown version (a redis.conf alone) gives a warning, never an error, for a directive unknown to some versions', async () => {
    const findings = await validate({ 'redis.conf': 'set-max-listpack-entries 128\nrequirepass x\n' }, ['redis.conf']);
    expect(rules(findings, 'redis-conf-invalid'), show(findings)).toEqual([]);
    const warned = rules(findings, 'redis-conf-version');
    expect(warned.map((f) => [f.severity, f.line])).toEqual([['warning', 1]]);
  });

  it('17.3 a directive no version knows is still an error', async () => {
    const findings = await validate({ 'redis.conf': 'maxmemory-polcy allkeys-lru\n' }, ['redis.conf']);
    expect(rules(findings, 'redis-conf-invalid'), show(findings)).toHaveLength(1);
  });
});

describe('issue 17 false error 4: the timeout chain goes to the service that really runs supervisord', () => {
  const supervisord = [
    '[supervisord]',
    'nodaemon=true',
    '',
    '[program:worker]',
    'command=php /app/artisan queue:work --timeout=90',
    'process_name=%(program_name)s_%(process_num)02d',
    'numprocs=2',
    'autorestart=true',
    'stopwaitsecs=120',
    'user=www-data',
    '',
  ].join('\n');

  it('17.4 placed by the CMD of the service’s Dockerfile: no timeout-chain on the database', async () => {
    const files = {
      'docker-compose.yml': [
        'services:',
        '  app:',
        '    build: .',
        '    stop_grace_period: 150s',
        '  db:',
        '    image: postgres:16',
        '  redis:',
        '    image: redis:7',
        '    command: redis-server --requirepass ${REDIS_PASSWORD:?set it} --appendonly yes',
        '',
      ].join('\n'),
      Dockerfile: 'FROM php:8.3-cli\nCOPY supervisord.conf /etc/supervisor/supervisord.conf\nCMD ["supervisord", "-c", "/etc/supervisor/supervisord.conf"]\n',
      'supervisord.conf': supervisord,
    };
    const findings = await validate(files, ['docker-compose.yml', 'supervisord.conf']);
    expect(rules(findings, 'timeout-chain'), show(findings)).toEqual([]);
    // The chain is still checked against the service that runs it.
    const short = await validate({ ...files, 'docker-compose.yml': files['docker-compose.yml'].replace('150s', '60s') }, [
      'docker-compose.yml',
      'supervisord.conf',
    ]);
    expect(rules(short, 'timeout-chain').map((f) => f.message)).toEqual([expect.stringContaining('service "app"')]);
  });

  it('17.4 no service runs it (an image built elsewhere): said so in an info, no timeout-chain on other services', async () => {
    const files = {
      'docker-compose.yml': 'services:\n  app:\n    image: registry.example.com/shop/app:1.4\n  db:\n    image: mysql:8\n',
      'supervisord.conf': supervisord,
    };
    const findings = await validate(files, ['docker-compose.yml', 'supervisord.conf']);
    expect(rules(findings, 'timeout-chain'), show(findings)).toEqual([]);
    expect(
      rules(findings, 'not-checked').some((f) => f.file === 'supervisord.conf' && /no service/.test(f.message)),
      show(findings),
    ).toBe(true);
  });
});

describe('issue 17 false error 5: expansions supervisord performs are accepted', () => {
  it('17.5 numprocs=%(ENV_WORKER_COUNT)s, stopwaitsecs=%(ENV_STOP_WAIT)s and %(here)s raise nothing', async () => {
    const conf = [
      '[supervisord]',
      'logfile=%(here)s/supervisord.log',
      '',
      '[program:worker]',
      'command=php %(ENV_APP_ROOT)s/artisan queue:work --timeout=60',
      'process_name=%(program_name)s_%(process_num)02d',
      'numprocs=%(ENV_WORKER_COUNT)s',
      'stopwaitsecs=%(ENV_STOP_WAIT)s',
      'autorestart=true',
      'user=%(ENV_APP_USER)s',
      '',
    ].join('\n');
    const findings = await validate({ 'supervisord.conf': conf }, ['supervisord.conf']);
    expect(
      findings.filter((f) => f.severity === 'error'),
      show(findings),
    ).toEqual([]);
  });
});

describe('issue 17 false error 6: the user a Dockerfile sets counts', () => {
  it('17.6 supervisord programs in an image whose Dockerfile sets USER app (beside a database service): no supervisor-root-user', async () => {
    const files = {
      'docker-compose.yml':
        'services:\n  worker:\n    build:\n      context: .\n      dockerfile: docker/Dockerfile\n    stop_grace_period: 400s\n  db:\n    image: postgres:16\n',
      'docker/Dockerfile':
        'FROM node:20\nRUN useradd app\nCOPY docker/supervisord.conf /etc/supervisord.conf\nUSER app\nCMD ["supervisord", "-n", "-c", "/etc/supervisord.conf"]\n',
      'docker/supervisord.conf': '[supervisord]\nnodaemon=true\n\n[program:jobs]\ncommand=rqctl worker --timeout 300\nautorestart=true\nstopwaitsecs=330\n',
    };
    const findings = await validate(files, ['docker-compose.yml', 'docker/supervisord.conf']);
    expect(rules(findings, 'supervisor-root-user'), show(findings)).toEqual([]);
  });
});

describe('issue 17 false error 7: a mounted redis.conf that was not read is said, not silently skipped', () => {
  const compose = [
    'services:',
    '  redis:',
    '    image: redis:7',
    '    command: ["redis-server", "/usr/local/etc/redis/redis.conf"]',
    '    volumes:',
    '      - ./docker/redis/redis.conf:/usr/local/etc/redis/redis.conf:ro',
    '',
  ].join('\n');

  it('17.7 the mount source does not exist here: an info naming it and what was not checked', async () => {
    const findings = await validate({ 'docker-compose.yml': compose }, ['docker-compose.yml']);
    const note = rules(findings, 'not-checked').find((f) => f.message.includes('docker/redis/redis.conf'));
    expect(note, show(findings)).toBeDefined();
    expect(note!.message).toMatch(/not checked|not read/);
  });

  it('17.7 a file of the same name given at another path: the info points at it', async () => {
    const findings = await validate({ 'docker-compose.yml': compose, 'config/redis.conf': 'maxmemory 100mb\n' }, ['docker-compose.yml', 'config/redis.conf']);
    const note = rules(findings, 'not-checked').find((f) => f.message.includes('docker/redis/redis.conf'));
    expect(note, show(findings)).toBeDefined();
    expect(`${note!.message} ${note!.fix}`).toContain('config/redis.conf');
  });

  it('17.7 a config that lives in the image (not mounted): an info too', async () => {
    const findings = await validate({ 'docker-compose.yml': 'services:\n  redis:\n    image: redis:7\n    command: redis-server /etc/redis/custom.conf\n' }, [
      'docker-compose.yml',
    ]);
    expect(
      rules(findings, 'not-checked').some((f) => f.message.includes('/etc/redis/custom.conf')),
      show(findings),
    ).toBe(true);
  });
});

describe('issue 17 miss 1: compose consistency the JSON schema does not express', () => {
  it('17.m1 container_name with deploy.replicas > 1, duplicate container names, depends_on naming no service', async () => {
    const compose = [
      'services:',
      '  worker:',
      '    image: app',
      '    container_name: worker',
      '    deploy:',
      '      replicas: 3',
      '  app:',
      '    image: app',
      '    container_name: shop',
      '    depends_on:',
      '      - redis',
      '      - mysql',
      '  web:',
      '    image: nginx',
      '    container_name: shop',
      '    depends_on:',
      '      app:',
      '        condition: service_started',
      '  redis:',
      '    image: redis:7',
      '    command: redis-server --requirepass ${REDIS_PASSWORD:?set it}',
      '',
    ].join('\n');
    const findings = await validate({ 'docker-compose.yml': compose }, ['docker-compose.yml']);
    const got = rules(findings, 'compose-consistency').map((f) => [f.severity, f.line]);
    expect(got, show(findings)).toEqual([
      ['error', 4],
      ['error', 12],
      ['error', 15],
    ]);
  });
});

describe('issue 17 miss 2: a worker is recognised by what it does; autorestart=false on one is reported', () => {
  it.each([
    ['Sidekiq', 'bundle exec sidekiq -C config/sidekiq.yml', 1],
    ['Celery', 'celery -A proj worker --loglevel=info', 1],
    ['RQ', 'rq worker --url redis://redis:6379 default', 1],
    ['BullMQ', 'node dist/queue-worker.js', 1],
    ['Laravel horizon', 'php artisan horizon', 1],
    ['any program with numprocs > 1', '/usr/local/bin/consume-orders', 4],
  ])('17.m2 %s with autorestart=false', async (_name, command, numprocs) => {
    const conf = [
      '[program:consumer]',
      `command=${command}`,
      'process_name=%(program_name)s_%(process_num)02d',
      `numprocs=${numprocs}`,
      'autorestart=false',
      'user=app',
      '',
    ].join('\n');
    const findings = await validate({ 'conf.d/consumer.conf': conf }, ['conf.d/consumer.conf']);
    expect(
      rules(findings, 'supervisor-autorestart').map((f) => f.line),
      show(findings),
    ).toEqual([5]);
  });

  it('17.m2 a one-off program that is not a worker is left alone', async () => {
    const conf = '[program:cron]\ncommand=cron -f\nautorestart=false\n';
    const findings = await validate({ 'conf.d/cron.conf': conf }, ['conf.d/cron.conf']);
    expect(rules(findings, 'supervisor-autorestart'), show(findings)).toEqual([]);
  });
});

describe('issue 17 miss 3: messages name the variable and the image', () => {
  it('17.m3 an empty password from ${REDIS_PASSWORD:-} names REDIS_PASSWORD', async () => {
    const compose = 'services:\n  redis:\n    image: redis:7\n    command: ["redis-server", "--requirepass", "${REDIS_PASSWORD:-}"]\n';
    const findings = await validate({ 'docker-compose.yml': compose }, ['docker-compose.yml']);
    const [noAuth] = rules(findings, 'redis-no-auth');
    expect(noAuth.message).toMatch(/REDIS_PASSWORD is (not set|unset)/);
  });

  it('17.m3 a bare valkey/valkey image is not called the official redis image', async () => {
    const findings = await validate({ 'docker-compose.yml': 'services:\n  kv:\n    image: valkey/valkey\n' }, ['docker-compose.yml']);
    const [pm] = rules(findings, 'redis-protected-mode-off');
    expect(pm.message).not.toContain('official redis image');
    expect(pm.message).toContain('valkey');
  });
});
