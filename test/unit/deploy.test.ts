import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { normalizeProjectName, parseMergedServices, projectNameFor } from '../../src/deploy/apply/compose-cli.js';
import { demuxBuffer, dockerOptions, engineDisplay } from '../../src/deploy/apply/engine.js';
import { judgeProcesses, parseSupervisorStatus, runsSupervisord, supervisordConfigFrom } from '../../src/deploy/apply/supervisorctl.js';
import { deployPlan } from '../../src/deploy/apply/plan.js';
import { declaredPrograms } from '../../src/deploy/validate/supervisord.js';
import { resolveDockerEnvironment } from '../../src/config/docker.js';

const STATUS = `rqctl-scheduler                  RUNNING   pid 10, uptime 0:00:12
rqctl-worker:rqctl-worker_00     RUNNING   pid 11, uptime 0:00:12
rqctl-worker:rqctl-worker_01     RUNNING   pid 12, uptime 0:00:12
rqctl-worker:rqctl-worker_02     RUNNING   pid 13, uptime 0:00:12
`;

const CONF = `[supervisord]
nodaemon=true

[program:rqctl-worker]
command=rqctl worker
process_name=%(program_name)s_%(process_num)02d
numprocs = 3 ; three of them

[program:rqctl-scheduler]
command=rqctl scheduler

[program:nginx]
command=nginx
`;

describe('supervisorctl status', () => {
  it('parses names, programs and states', () => {
    const ps = parseSupervisorStatus(STATUS + 'garbage line\nunix:///tmp/supervisor.sock no such file\n');
    expect(ps.map((p) => [p.name, p.program, p.state])).toEqual([
      ['rqctl-scheduler', 'rqctl-scheduler', 'RUNNING'],
      ['rqctl-worker:rqctl-worker_00', 'rqctl-worker', 'RUNNING'],
      ['rqctl-worker:rqctl-worker_01', 'rqctl-worker', 'RUNNING'],
      ['rqctl-worker:rqctl-worker_02', 'rqctl-worker', 'RUNNING'],
    ]);
  });

  it('reads the rqctl programs and numprocs of a supervisord file', () => {
    expect(declaredPrograms(CONF)).toEqual([
      { name: 'rqctl-worker', numprocs: 3 },
      { name: 'rqctl-scheduler', numprocs: 1 },
      { name: 'nginx', numprocs: 1 },
    ]);
  });

  it('all declared processes RUNNING: ok', () => {
    const v = judgeProcesses(parseSupervisorStatus(STATUS), declaredPrograms(CONF));
    expect(v).toMatchObject({ ok: true, final: false, problems: [] });
    expect(v.processes).toHaveLength(4);
  });

  it('a FATAL worker is final; a BACKOFF one is worth waiting for', () => {
    const fatal = judgeProcesses(
      parseSupervisorStatus(STATUS.replace('pid 12, uptime 0:00:12', '').replace(/(worker_01\s+)RUNNING/, '$1FATAL     Exited too quickly')),
      declaredPrograms(CONF),
    );
    expect(fatal.ok).toBe(false);
    expect(fatal.final).toBe(true);
    expect(fatal.problems[0]).toMatch(/rqctl-worker:rqctl-worker_01 is FATAL/);
    const backoff = judgeProcesses(parseSupervisorStatus(STATUS.replace(/(worker_02\s+)RUNNING/, '$1BACKOFF')), declaredPrograms(CONF));
    expect(backoff).toMatchObject({ ok: false, final: false });
  });

  it('fewer processes than numprocs is a problem, and so is a missing scheduler', () => {
    const two = STATUS.split('\n')
      .filter((l) => !l.includes('worker_02') && !l.startsWith('rqctl-scheduler'))
      .join('\n');
    const v = judgeProcesses(parseSupervisorStatus(two), declaredPrograms(CONF));
    expect(v.ok).toBe(false);
    expect(v.problems).toEqual(['rqctl-worker: 2 of 3 processes in supervisorctl status', 'rqctl-scheduler: 0 of 1 processes in supervisorctl status']);
  });

  it('without the supervisord file, at least one worker and one scheduler are expected', () => {
    expect(judgeProcesses(parseSupervisorStatus(STATUS), undefined).ok).toBe(true);
    const v = judgeProcesses(parseSupervisorStatus('nginx  RUNNING  pid 3, uptime 0:01:00\n'), undefined);
    expect(v.problems).toEqual(['no rqctl-worker process in supervisorctl status', 'no rqctl-scheduler process in supervisorctl status']);
  });

  it('finds the configuration supervisord was started with', () => {
    expect(supervisordConfigFrom(['supervisord', '-n', '-c', '/etc/rqctl/supervisord.conf'])).toBe('/etc/rqctl/supervisord.conf');
    expect(supervisordConfigFrom(['/usr/bin/supervisord', '--configuration=/a.conf'])).toBe('/a.conf');
    expect(supervisordConfigFrom(['/usr/bin/python3', '/usr/bin/supervisord', '-c/b.conf'])).toBe('/b.conf');
    expect(supervisordConfigFrom(['sh', '-c', 'exec supervisord -c /etc/s.conf -n'])).toBe('/etc/s.conf');
    expect(supervisordConfigFrom(['supervisord', '-n'])).toBeUndefined();
    expect(runsSupervisord(['sh', '-c', 'exec supervisord -n'])).toBe(true);
    expect(runsSupervisord(['redis-server', '/etc/supervisord.conf.d/x'])).toBe(false);
  });
});

describe('compose project and services', () => {
  it('normalises project names like compose', () => {
    expect(normalizeProjectName('My App.prod')).toBe('myappprod');
    expect(normalizeProjectName('_rq-ctl_1')).toBe('rq-ctl_1');
  });

  it('-p > COMPOSE_PROJECT_NAME > name: > the directory name', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'rqctl-unit-')), 'Shop.Stack');
    mkdirSync(dir);
    const file = join(dir, 'docker-compose.prod.yml');
    writeFileSync(file, 'services: {}\n');
    expect(projectNameFor([file], undefined, undefined)).toBe('shopstack');
    expect(projectNameFor([file], undefined, 'from-env')).toBe('from-env');
    expect(projectNameFor([file], 'explicit', 'from-env')).toBe('explicit');
    writeFileSync(file, 'name: named\nservices: {}\n');
    expect(projectNameFor([file], undefined, undefined)).toBe('named');
    // A name given on purpose (-p, COMPOSE_PROJECT_NAME) that compose would rewrite is refused (issue 13 item 14).
    expect(() => projectNameFor([file], '...', undefined)).toThrow(/not a valid compose project name/);
    expect(() => projectNameFor([file], 'Explicit', undefined)).toThrow(/project name "Explicit" is not a valid/);
    expect(() => projectNameFor([file], undefined, 'From-Env')).toThrow(/COMPOSE_PROJECT_NAME "From-Env" is not a valid/);
  });

  it('reads services from compose config output: healthchecks, replicas, inactive profiles', () => {
    const services = parseMergedServices(`services:
  app:
    command: [supervisord, -n]
    deploy: { replicas: 2 }
  redis:
    command: redis-server --appendonly yes
    healthcheck: { test: [CMD, redis-cli, ping] }
  off:
    healthcheck: { disable: true }
  debug:
    profiles: [debug]
`);
    expect(services).toEqual([
      { name: 'app', command: 'supervisord -n', hasHealthcheck: false, replicas: 2, binds: [] },
      { name: 'redis', command: 'redis-server --appendonly yes', hasHealthcheck: true, replicas: 1, binds: [] },
      { name: 'off', command: undefined, hasHealthcheck: false, replicas: 1, binds: [] },
    ]);
    // docker-compose v1 starts one container whatever deploy.replicas says; an active profile counts.
    expect(
      parseMergedServices('services:\n  app:\n    deploy: { replicas: 2 }\n  debug:\n    profiles: [debug]\n', { generation: 1, activeProfiles: ['debug'] }),
    ).toEqual([
      { name: 'app', command: undefined, hasHealthcheck: false, replicas: 1, binds: [] },
      { name: 'debug', command: undefined, hasHealthcheck: false, replicas: 1, binds: [] },
    ]);
  });

  it('reads the bind mounts of compose config output, long syntax (v2) and strings (v1)', () => {
    const v2 = parseMergedServices(`services:
  redis:
    volumes:
      - { type: bind, source: /srv/app/docker/users.acl, target: /usr/local/etc/redis/users.acl, read_only: true }
      - { type: volume, source: data, target: /data }
`);
    expect(v2[0].binds).toEqual([{ source: '/srv/app/docker/users.acl', target: '/usr/local/etc/redis/users.acl' }]);
    const v1 = parseMergedServices(
      `services:
  redis:
    volumes:
      - /srv/app/docker/users.acl:/usr/local/etc/redis/users.acl:ro
      - data:/data:rw
`,
      { generation: 1 },
    );
    expect(v1[0].binds).toEqual([{ source: '/srv/app/docker/users.acl', target: '/usr/local/etc/redis/users.acl' }]);
  });
});

describe('Docker engine address', () => {
  it('unix://, a bare path, ssh:// and tcp:// (TLS on 2376)', () => {
    expect(dockerOptions({})).toMatchObject({ socketPath: '/var/run/docker.sock', host: undefined });
    expect(dockerOptions({ host: 'unix:///run/user/1000/docker.sock' })).toMatchObject({ socketPath: '/run/user/1000/docker.sock', host: undefined });
    expect(dockerOptions({ host: 'ssh://deploy@prod.example:2222', sshAuthSock: '/tmp/agent.sock' })).toMatchObject({
      protocol: 'ssh',
      host: 'prod.example',
      port: '2222',
      username: 'deploy',
      socketPath: undefined,
      sshOptions: { agent: '/tmp/agent.sock' },
    });
    expect(dockerOptions({ host: 'tcp://10.0.0.5:2375' })).toMatchObject({ protocol: 'http', host: '10.0.0.5', port: '2375' });
    expect(dockerOptions({ host: 'tcp://10.0.0.5:2376' })).toMatchObject({ protocol: 'https' });
    expect(() => dockerOptions({ host: 'ftp://x' })).toThrow(/unsupported scheme/);
    expect(engineDisplay({})).toBe('unix:///var/run/docker.sock');
  });

  it('resolves the Docker environment (config layer)', () => {
    const env = resolveDockerEnvironment({ DOCKER_HOST: 'ssh://a@b', DOCKER_TLS_VERIFY: '', COMPOSE_PROJECT_NAME: 'x', PATH: '/bin' });
    expect(env).toMatchObject({ host: 'ssh://a@b', tlsVerify: false, composeProjectName: 'x' });
    expect(env.processEnv.PATH).toBe('/bin');
    expect(resolveDockerEnvironment({ DOCKER_TLS_VERIFY: '1' }).tlsVerify).toBe(true);
  });

  it('demultiplexes the engine log stream', () => {
    const frame = (stream: number, text: string) => {
      const body = Buffer.from(text);
      const head = Buffer.alloc(8);
      head[0] = stream;
      head.writeUInt32BE(body.length, 4);
      return Buffer.concat([head, body]);
    };
    expect(demuxBuffer(Buffer.concat([frame(1, 'out 1\n'), frame(2, 'err 1\n'), frame(1, 'out 2\n')]))).toBe('out 1\nerr 1\nout 2\n');
  });
});

describe('deploy plan', () => {
  const base = { timeoutMs: 180_000, docker: resolveDockerEnvironment({}), files: [] as string[] };

  it('lists validate, build, up, verify with the compose commands; --check and --no-build shorten it', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'rqctl-unit-'));
    const plan = deployPlan({ ...base, cwd, projectName: 'shop' });
    expect(plan.steps.map((s) => s.name)).toEqual(['validate', 'build', 'up', 'verify']);
    expect(plan.steps[2].command).toBe('docker compose -f docker-compose.prod.yml -p shop up -d --remove-orphans');
    expect(plan.notes).toContain('docker-compose.prod.yml does not exist');
    expect(deployPlan({ ...base, cwd, check: true }).steps.map((s) => s.name)).toEqual(['validate']);
    const noBuild = deployPlan({ ...base, cwd, build: false });
    expect(noBuild.steps.map((s) => s.name)).toEqual(['validate', 'up', 'verify']);
    expect(noBuild.steps[1].command).toMatch(/up -d --remove-orphans --no-build$/);
  });
});
