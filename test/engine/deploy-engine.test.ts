import { spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { supervisordConfigFrom } from '../../src/deploy/apply/supervisorctl.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { buildBaseImage, engineSkipReason, startDockerd, type Dockerd } from '../helpers/docker-engine.js';
import { copyBuildContext, hostNetworkOverride, redisServiceNames, withoutPorts, withProgramCommand } from '../helpers/deploy-stack.js';
import { freePort } from '../helpers/redis-server.js';

/**
 * `rqctl deploy` for real: a private dockerd (no bridge, no iptables, its own socket), a base image
 * imported from this machine's binaries (nothing is pulled), the production Dockerfile built with
 * only BASE_IMAGE swapped, and the deployment files run with a compose override that puts every
 * service on the host network with Redis on 127.0.0.1 and free ports. The stack must verify (three
 * workers and the scheduler RUNNING under supervisord, doctor passing), and a broken worker must
 * fail the deploy with exit 4 and the container's logs. Everything is torn down, even on failure.
 */

const skipReason = engineSkipReason();
if (skipReason) console.log(`[deploy-engine] skipped: ${skipReason}`);

const BASE_IMAGE = 'rqctl-e2e-base:latest';
const PROJECT = 'rqctl-e2e';
const PASSWORD = `e2e${Math.random().toString(36).slice(2, 14)}`;

describe.skipIf(!!skipReason)('rqctl deploy against a real Docker engine', () => {
  let engine: Dockerd | undefined;
  let unavailable: string | undefined;
  let dir: string;
  let files: string[];
  const ports: Record<string, number> = {};
  let appService = 'app';
  let appCommand: string[] = [];
  let dashboardPort = 0;

  const deployCli = (args: string[], timeoutMs = 240_000): Promise<CliResult> =>
    runCli(['deploy', ...files.flatMap((f) => ['-f', f]), '-p', PROJECT, ...args], {
      cwd: dir,
      env: { DOCKER_HOST: engine!.host, REDIS_PASSWORD: PASSWORD },
      timeoutMs,
    });

  beforeAll(async () => {
    let t = Date.now();
    const lap = (what: string) => {
      console.log(`[deploy-engine] ${what} in ${((Date.now() - t) / 1000).toFixed(1)}s`);
      t = Date.now();
    };
    try {
      engine = await startDockerd();
      lap('dockerd started');
    } catch (e) {
      // The machine does not allow it (no cgroups, no overlayfs, a container without privileges).
      unavailable = `dockerd could not start here: ${(e as Error).message.split('\n').slice(0, 4).join(' | ')}`;
      console.log(`[deploy-engine] skipped: ${unavailable}`);
      return;
    }
    // Safety net for an interrupted run: the daemon is ours, end it by PID.
    process.once('exit', () => {
      if (engine) {
        try {
          process.kill(engine.pid, 'SIGTERM');
        } catch {}
      }
    });
    // No registry: the Dockerfile builds from this checkout as CI leaves it (node_modules, dist).
    buildBaseImage(engine, { tag: BASE_IMAGE });
    lap(`base image ${BASE_IMAGE} imported`);

    dir = mkdtempSync(join(tmpdir(), 'rqctl-deploy-e2e-'));
    // The files `rqctl config generate` writes, as an operator would deploy them.
    const generate = await runCli(['config', 'generate', '--out', dir], { cwd: dir, env: { REDIS_PASSWORD: PASSWORD } });
    if (generate.exitCode !== 0) throw new Error(`rqctl config generate failed: ${generate.stderr}`);
    copyBuildContext(dir);
    writeFileSync(join(dir, 'docker-compose.e2e.yml'), withoutPorts(readFileSync(join(dir, 'docker-compose.prod.yml'), 'utf8')));
    // Read as written (merge keys applied, nothing interpolated): the override keeps
    // `${REDIS_PASSWORD…}` where the file has it.
    const composeText = readFileSync(join(dir, 'docker-compose.e2e.yml'), 'utf8');
    for (const n of redisServiceNames(composeText)) ports[n] = await freePort();
    dashboardPort = await freePort();
    const override = hostNetworkOverride({ config: composeText, baseImage: BASE_IMAGE, ports, password: PASSWORD, dashboardPort });
    writeFileSync(join(dir, 'e2e-host-network.yml'), override.yaml);
    const parsed = parseYaml(composeText, { merge: true }) as { services: Record<string, { command?: string | string[] }> };
    appService = override.appServices.find((n) => /supervisord/.test(String(parsed.services[n].command ?? ''))) ?? override.appServices[0];
    const cmd = parsed.services[appService].command;
    appCommand = Array.isArray(cmd) ? cmd.map(String) : String(cmd ?? '').split(/\s+/);
    files = ['docker-compose.e2e.yml', 'e2e-host-network.yml'];
    console.log(`[deploy-engine] generated files; Redis services ${JSON.stringify(ports)}; dockerd ${engine.host}`);
  }, 300_000);

  const aclDirs: string[] = [];

  afterAll(async () => {
    const t = Date.now();
    if (engine) {
      const ids = engine.docker(['ps', '-aq']).stdout.split('\n').filter(Boolean);
      if (ids.length) engine.docker(['rm', '-f', '-v', ...ids], { timeoutMs: 60_000 });
      await engine.stop();
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
    for (const d of aclDirs) rmSync(d, { recursive: true, force: true });
    if (engine) console.log(`[deploy-engine] torn down (containers, dockerd, temporary files) in ${((Date.now() - t) / 1000).toFixed(1)}s`);
  }, 120_000);

  it('deploys the stack and verifies it: services healthy, 3 workers + scheduler RUNNING, doctor passing', async (ctx) => {
    if (!engine) return ctx.skip(unavailable);
    const r = await deployCli(['--timeout', '180s', '--json']);
    if (r.exitCode !== 0 || process.env.RQCTL_ENGINE_VERBOSE) console.log(`${r.stderr.slice(-4000)}\n${r.stdout.slice(-4000)}`);
    expect(r.exitCode).toBe(0);
    const result = r.json;
    expect(result.ok).toBe(true);
    expect(result.steps.map((s: { name: string }) => s.name)).toEqual(['validate', 'build', 'up', 'verify']);
    for (const s of result.steps) expect(['ok', 'warn']).toContain(s.status);
    expect(result.compose.command).toMatch(/docker[ -]compose/);
    console.log(
      `[deploy-engine] deploy steps: ${result.steps.map((s: { name: string; durationMs: number }) => `${s.name} ${(s.durationMs / 1000).toFixed(1)}s`).join(', ')}`,
    );

    // Every service has a running container, Redis healthy.
    const services = result.services as { service: string; state: string; health?: string; ok: boolean }[];
    for (const name of Object.keys(ports)) expect(services.find((s) => s.service === name)).toMatchObject({ state: 'running', health: 'healthy', ok: true });
    expect(services.every((s) => s.ok)).toBe(true);

    // supervisord runs three workers and the scheduler.
    const processes = result.processes as { name: string; state: string }[];
    const workers = processes.filter((p) => /^rqctl-worker(:|$)/.test(p.name));
    expect(workers.map((p) => p.name).sort()).toEqual(['rqctl-worker:rqctl-worker_00', 'rqctl-worker:rqctl-worker_01', 'rqctl-worker:rqctl-worker_02']);
    expect(workers.every((p) => p.state === 'RUNNING')).toBe(true);
    expect(processes.filter((p) => p.name.startsWith('rqctl-scheduler'))).toEqual([expect.objectContaining({ state: 'RUNNING' })]);
    expect(processes.filter((p) => p.name.startsWith('rqctl-dashboard'))).toEqual([expect.objectContaining({ state: 'RUNNING' })]);
    // The dashboard answers /healthz inside the app container (the queue role reachable from there).
    const app = engine
      .docker(['ps', '--filter', `label=com.docker.compose.service=${appService}`, '--format', '{{.Names}}'])
      .stdout.split('\n')
      .filter(Boolean)[0];
    const health = engine.docker([
      'exec',
      app,
      'node',
      '-e',
      `fetch('http://127.0.0.1:${dashboardPort}/healthz').then(async (r) => { console.log(r.status, await r.text()); process.exit(r.ok ? 0 : 1); }, (e) => { console.log(String(e)); process.exit(2); })`,
    ]);
    expect(health.stdout.trim()).toBe('200 {"ok":true}');
    expect(result.doctor).toMatchObject({ ok: true, exitCode: 0 });
    expect(result.doctor.checks.some((c: { id: string; status: string }) => c.id === 'queue.reachable' && c.status === 'ok')).toBe(true);

    // From outside: the queue's Redis answers on 127.0.0.1 with the password, and with noeviction.
    const queueService = Object.keys(ports).find((n) => n.includes('queue')) ?? Object.keys(ports)[0];
    const client = new Redis({ host: '127.0.0.1', port: ports[queueService], password: PASSWORD, lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await client.connect();
      expect(await client.ping()).toBe('PONG');
      expect(await client.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
    } finally {
      client.disconnect();
    }

    // The deployed workers do work: a job dispatched from this host is completed by one of them.
    const cacheService = Object.keys(ports).find((n) => n.includes('cache'));
    const dispatched = await runCli(['dispatch', 'UpdateRaffleStatuses', '--wait', '--timeout', '60s', '--json'], {
      env: {
        REDIS_HOST: '127.0.0.1',
        REDIS_PORT: String(ports[queueService]),
        REDIS_PASSWORD: PASSWORD,
        ...(cacheService ? { REDIS_CACHE_URL: `redis://127.0.0.1:${ports[cacheService]}/0` } : {}),
      },
      timeoutMs: 90_000,
    });
    if (dispatched.exitCode !== 0) console.log(dispatched.stdout, dispatched.stderr);
    expect(dispatched.exitCode).toBe(0);

    // The network rule held: host networking only, no network created, nothing published.
    const networks = engine.docker(['network', 'ls', '--format', '{{.Name}}']).stdout.split('\n').filter(Boolean).sort();
    expect(networks).toEqual(['host', 'none']);
    const ids = engine.docker(['ps', '-q']).stdout.split('\n').filter(Boolean);
    const modes = engine
      .docker(['inspect', '--format', '{{.HostConfig.NetworkMode}} {{len .NetworkSettings.Ports}}', ...ids])
      .stdout.trim()
      .split('\n');
    expect(modes.every((m) => m === 'host 0')).toBe(true);
  }, 300_000);

  it('without REDIS_PASSWORD compose refuses the files: exit 4 with its reason, the running stack untouched', async (ctx) => {
    if (!engine) return ctx.skip(unavailable);
    const before = engine.docker(['ps', '-q', '--no-trunc']).stdout.split('\n').filter(Boolean).sort();
    const r = await runCli(['deploy', ...files.flatMap((f) => ['-f', f]), '-p', PROJECT, '--no-build', '--json'], {
      cwd: dir,
      env: { DOCKER_HOST: engine.host },
      timeoutMs: 120_000,
    });
    expect(r.exitCode).toBe(4);
    expect(r.json.ok).toBe(false);
    expect(r.json.steps.find((s: { name: string }) => s.name === 'up')).toMatchObject({ status: 'failed', message: expect.stringContaining('REDIS_PASSWORD') });
    expect(engine.docker(['ps', '-q', '--no-trunc']).stdout.split('\n').filter(Boolean).sort()).toEqual(before);
  }, 120_000);

  it('a worker that cannot start fails the deploy: exit 4, the failing container and its last log lines', async (ctx) => {
    if (!engine) return ctx.skip(unavailable);
    // The supervisord file in the image is replaced by a bind mount of a broken copy: no rebuild
    // (--no-build), `up` recreates the app container with it.
    const inImage = supervisordConfigFrom(appCommand) ?? '/etc/supervisor/supervisord.conf';
    writeFileSync(
      join(dir, 'supervisord.broken.conf'),
      withProgramCommand(readFileSync(join(dir, 'supervisord.prod.conf'), 'utf8'), 'rqctl-worker', 'rqctl worker --no-such-option-e2e'),
    );
    writeFileSync(join(dir, 'e2e-broken-worker.yml'), `services:\n  ${appService}:\n    volumes:\n      - "./supervisord.broken.conf:${inImage}:ro"\n`);
    const t0 = Date.now();
    const r = await runCli(
      [
        'deploy',
        ...[...files, 'e2e-broken-worker.yml'].flatMap((f) => ['-f', f]),
        '-p',
        PROJECT,
        '--supervisor-file',
        'supervisord.broken.conf',
        '--no-build',
        '--timeout',
        '120s',
        '--log-lines',
        '60',
      ],
      {
        cwd: dir,
        env: { DOCKER_HOST: engine.host, REDIS_PASSWORD: PASSWORD },
        timeoutMs: 240_000,
      },
    );
    console.log(`[deploy-engine] broken deploy reported in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    if (r.exitCode !== 4 || !r.stderr.includes('✗ verify') || process.env.RQCTL_ENGINE_VERBOSE)
      console.log(`${r.stderr.slice(-3000)}\n${r.stdout.slice(-6000)}`);
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toMatch(/- build\s+skipped/);
    // The step line names the step that failed; the result names the processes and shows the logs.
    expect(r.stderr).toMatch(/✗ verify\s+failed/);
    expect(r.stdout).toMatch(/rqctl-worker:rqctl-worker_0\d\s+(FATAL|BACKOFF)/);
    expect(r.stdout).toMatch(/--- last \d+ log lines of \S+ ---/);
    // The worker's own complaint (or supervisord giving up on it) is in those lines.
    expect(r.stdout).toMatch(/no-such-option-e2e|unknown (option|command)|gave up: rqctl-worker_0\d entered FATAL/);
    expect(r.stdout).toMatch(/deploy failed at verify/);
  }, 300_000);

  it('deploys the --acl stack: aclfiles written before up (0600), Redis healthy as healthcheck, workers as rqctl-worker, doctor passing its ACL checks', async (ctx) => {
    if (!engine) return ctx.skip(unavailable);
    const aclDir = mkdtempSync(join(tmpdir(), 'rqctl-deploy-acl-'));
    aclDirs.push(aclDir);
    const pw = { worker: `w${PASSWORD}`, app: `a${PASSWORD}`, operator: `o${PASSWORD}`, healthcheck: `h${PASSWORD}` };
    const aclEnv = {
      REDIS_ACL_WORKER_PASSWORD: pw.worker,
      REDIS_ACL_APP_PASSWORD: pw.app,
      REDIS_ACL_OPERATOR_PASSWORD: pw.operator,
      REDIS_ACL_HEALTHCHECK_PASSWORD: pw.healthcheck,
    };
    const generate = await runCli(['config', 'generate', '--acl', '--out', aclDir], { cwd: aclDir });
    expect(generate.exitCode, generate.stderr).toBe(0);
    expect(readFileSync(join(aclDir, '.gitignore'), 'utf8')).toMatch(/^docker\/\*\.acl$/m);
    copyBuildContext(aclDir);
    writeFileSync(join(aclDir, 'docker-compose.e2e.yml'), withoutPorts(readFileSync(join(aclDir, 'docker-compose.prod.yml'), 'utf8')));
    const composeText = readFileSync(join(aclDir, 'docker-compose.e2e.yml'), 'utf8');
    const aclPorts: Record<string, number> = {};
    for (const n of redisServiceNames(composeText)) aclPorts[n] = await freePort();
    // The dashboard on loopback (host networking): off loopback it refuses to start without credentials.
    const override = hostNetworkOverride({
      config: composeText,
      baseImage: BASE_IMAGE,
      ports: aclPorts,
      healthcheckUser: 'healthcheck',
      dashboardPort: await freePort(),
    });
    writeFileSync(join(aclDir, 'e2e-host-network.yml'), override.yaml);
    const aclFiles = ['docker-compose.e2e.yml', 'e2e-host-network.yml'];

    // No REDIS_PASSWORD anywhere: the users' passwords only.
    const r = await runCli(['deploy', ...aclFiles.flatMap((f) => ['-f', f]), '-p', `${PROJECT}-acl`, '--timeout', '150s', '--json'], {
      cwd: aclDir,
      env: { DOCKER_HOST: engine.host, ...aclEnv },
      // The image is built again when this test runs alone (a busy machine: minutes).
      timeoutMs: 480_000,
    });
    if (r.exitCode !== 0 || process.env.RQCTL_ENGINE_VERBOSE) console.log(`${r.stderr.slice(-4000)}\n${r.stdout.slice(-4000)}`);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(/wrote docker\/users-queue\.acl \(mode 0600\)/);
    for (const f of ['users-queue.acl', 'users-cache.acl']) expect(statSync(join(aclDir, 'docker', f)).mode & 0o777).toBe(0o600);
    const services = r.json.services as { service: string; state: string; health?: string; ok: boolean }[];
    for (const name of Object.keys(aclPorts)) expect(services.find((x) => x.service === name)).toMatchObject({ state: 'running', health: 'healthy' });
    const checks = r.json.doctor.checks as { id: string; status: string }[];
    for (const role of ['queue', 'cache', 'session']) {
      expect(checks.find((c) => c.id === `${role}.acl-needs`)).toMatchObject({ status: 'ok' });
      expect(checks.find((c) => c.id === `${role}.acl-denies`)).toMatchObject({ status: 'ok' });
    }

    // From this host: no login without a user, each user only with its own password.
    const queuePort = aclPorts['redis-queue'];
    const as = (username: string | undefined, password: string | undefined) =>
      new Redis({ host: '127.0.0.1', port: queuePort, username, password, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
    const anonymous = spawnSync('redis-cli', ['-p', String(queuePort), 'ping'], { encoding: 'utf8' });
    expect(`${anonymous.stdout}${anonymous.stderr}`).toMatch(/NOAUTH/);
    const hc = as('healthcheck', pw.healthcheck);
    try {
      await hc.connect();
      expect(await hc.ping()).toBe('PONG');
      await expect(hc.get('x')).rejects.toThrow(/NOPERM/);
    } finally {
      hc.disconnect();
    }

    // The app dispatches; the workers in the container (rqctl-worker) run the job.
    const dispatched = await runCli(['dispatch', 'UpdateRaffleStatuses', '--wait', '--timeout', '60s', '--json'], {
      env: {
        REDIS_HOST: '127.0.0.1',
        REDIS_PORT: String(queuePort),
        REDIS_USERNAME: 'app',
        REDIS_PASSWORD: pw.app,
        REDIS_CACHE_URL: `redis://127.0.0.1:${aclPorts['redis-cache']}/0`,
      },
      timeoutMs: 90_000,
    });
    if (dispatched.exitCode !== 0) console.log(dispatched.stdout, dispatched.stderr);
    expect(dispatched.exitCode).toBe(0);

    // An aclfile owned by another user than root (a CI deploy user), still 0600: Redis restarts healthy.
    for (const f of ['users-queue.acl', 'users-cache.acl']) chownSync(join(aclDir, 'docker', f), 1000, 1000);
    const queueContainer = engine
      .docker(['ps', '-q', '--filter', `label=com.docker.compose.project=${PROJECT}-acl`, '--filter', 'label=com.docker.compose.service=redis-queue'])
      .stdout.trim();
    expect(engine.docker(['restart', queueContainer]).status).toBe(0);
    let health = '';
    for (let i = 0; i < 60 && health !== 'healthy'; i++) {
      await new Promise((res) => setTimeout(res, 1000));
      health = engine.docker(['inspect', '--format', '{{.State.Health.Status}}', queueContainer]).stdout.trim();
    }
    expect(health, engine.docker(['logs', '--tail', '20', queueContainer]).stderr).toBe('healthy');

    // New passwords: deploy rewrites the aclfiles and restarts the Redis servers before `up`.
    const rotated = { ...aclEnv, REDIS_ACL_APP_PASSWORD: `a2${PASSWORD}`, REDIS_ACL_WORKER_PASSWORD: `w2${PASSWORD}` };
    const again = await runCli(['deploy', ...aclFiles.flatMap((f) => ['-f', f]), '-p', `${PROJECT}-acl`, '--no-build', '--timeout', '150s'], {
      cwd: aclDir,
      env: { DOCKER_HOST: engine.host, ...rotated },
      timeoutMs: 300_000,
    });
    if (again.exitCode !== 0) console.log(again.stderr.slice(-4000), again.stdout.slice(-4000));
    expect(again.exitCode).toBe(0);
    expect(again.stderr).toMatch(/restarted redis-(queue|cache), redis-(queue|cache): their ACL users changed/);
    const appEnv = (password: string) => ({
      REDIS_HOST: '127.0.0.1',
      REDIS_PORT: String(queuePort),
      REDIS_USERNAME: 'app',
      REDIS_PASSWORD: password,
      REDIS_CACHE_URL: `redis://127.0.0.1:${aclPorts['redis-cache']}/0`,
    });
    const stale = await runCli(['dispatch', 'UpdateRaffleStatuses', '--json'], { env: appEnv(pw.app) });
    expect(stale.exitCode).toBe(3);
    expect(JSON.parse(stale.stderr).error).toMatchObject({ code: 'REDIS_AUTH', message: expect.stringContaining('refused the password for user "app"') });
    const fresh = await runCli(['dispatch', 'UpdateRaffleStatuses', '--wait', '--timeout', '60s', '--json'], {
      env: appEnv(rotated.REDIS_ACL_APP_PASSWORD),
      timeoutMs: 90_000,
    });
    expect(fresh.exitCode, fresh.stderr).toBe(0);
  }, 900_000);
});
