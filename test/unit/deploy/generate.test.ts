import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { generateFiles, renderSupervisord, writeGenerated } from '../../../src/deploy/generate/generate.js';
import { renderTemplate } from '../../../src/deploy/generate/templates.js';
import { RqctlError } from '../../../src/errors.js';
import { resolveConfig } from '../../../src/config/resolve.js';
import { interpolate } from '../../../src/deploy/validate/interpolate.js';
import { ROOT } from '../../helpers/cli.js';

const dirs: string[] = [];
const temp = () => {
  const d = mkdtempSync(join(tmpdir(), 'rqctl-gen-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('config generate', () => {
  it('the repository’s own deployment files are exactly the default generation, byte for byte', () => {
    const out = temp();
    const { written } = writeGenerated(out, generateFiles());
    expect(written).toEqual([
      'docker-compose.prod.yml',
      'supervisord.prod.conf',
      'docker/Dockerfile',
      'docker/redis-queue.conf',
      'docker/redis-cache.conf',
      '.env.production.example',
    ]);
    for (const f of written)
      expect(
        readFileSync(join(ROOT, f), 'utf8'),
        `${f} differs from \`rqctl config generate\`: regenerate with \`node bin/rqctl.js config generate --force\``,
      ).toBe(readFileSync(join(out, f), 'utf8'));
  });

  it('writes the documented defaults (docs/deployment.md)', () => {
    const files = Object.fromEntries(generateFiles().map((f) => [f.path, f.content]));
    const compose = parse(files['docker-compose.prod.yml'], { merge: true });
    const cache = compose.services['redis-cache'];
    const queue = compose.services['redis-queue'];
    expect(files['docker/redis-cache.conf']).toMatch(/^maxmemory 256mb$/m);
    expect(files['docker/redis-cache.conf']).toMatch(/^maxmemory-policy allkeys-lru$/m);
    expect(files['docker/redis-cache.conf']).toMatch(/^appendonly no$/m);
    expect(files['docker/redis-queue.conf']).toMatch(/^maxmemory-policy noeviction$/m);
    expect(files['docker/redis-queue.conf']).toMatch(/^appendonly yes$\n^appendfsync everysec$/m);
    for (const conf of [files['docker/redis-cache.conf'], files['docker/redis-queue.conf']]) {
      expect(conf).toMatch(/^rename-command FLUSHDB ""$/m);
      expect(conf).toMatch(/^rename-command FLUSHALL ""$/m);
      expect(conf).not.toMatch(/^requirepass/m);
    }
    expect(cache.deploy.resources).toEqual({ limits: { memory: '384M' }, reservations: { memory: '256M' } });
    for (const svc of [cache, queue]) {
      expect(svc.command).toContain('--requirepass');
      expect(svc.command.at(-1)).toMatch(/^\$\{REDIS_PASSWORD:\?/);
      for (const p of svc.ports) expect(p).toMatch(/^127\.0\.0\.1:/);
      expect(svc.healthcheck.test.join(' ')).not.toMatch(/-a |REDIS_PASSWORD/);
      expect(svc.environment.REDISCLI_AUTH).toMatch(/^\$\{REDIS_PASSWORD:\?/);
    }
    const app = compose.services.app;
    expect(app.stop_grace_period).toBe('360s');
    expect(app.security_opt).toContain('no-new-privileges:true');
    expect(app.restart).toBe('unless-stopped');
    expect(app.env_file).toBeUndefined();
    expect(app.build.args.BASE_IMAGE).toBe('${RQCTL_BASE_IMAGE:-node:20-bookworm-slim}');
    const sup = files['supervisord.prod.conf'];
    expect(sup).toMatch(/^\[program:rqctl-worker\]$/m);
    expect(sup).toMatch(/^command=rqctl worker --queue default,emails --sleep 3 --tries 3 --max-time 3600 --timeout 300 --concurrency 1$/m);
    expect(sup).toMatch(/^numprocs=3$/m);
    expect(sup).toMatch(/^process_name=%\(program_name\)s_%\(process_num\)02d$/m);
    expect(sup).toMatch(/^stopwaitsecs=330$/m);
    expect(sup).toMatch(/^autorestart=true$/m);
    expect(sup).toMatch(/^user=rqctl$/m);
    expect(sup).toMatch(/^\[program:rqctl-scheduler\]\n(;.*\n)*command=rqctl scheduler$/m);
    expect(files['docker/Dockerfile']).toMatch(/^ARG BASE_IMAGE=node:20-bookworm-slim$/m);
    expect(files['docker/Dockerfile']).toMatch(/^USER rqctl$/m);
    expect(files['docker/Dockerfile'].match(/^FROM /gm)).toHaveLength(2);
  });

  it('--topology single keeps one Redis (DBs 0/1/2, allkeys-lru 256mb) with its other defects fixed; --workers/--concurrency reach supervisord', () => {
    const files = Object.fromEntries(generateFiles({ topology: 'single', workers: 5, concurrency: 4 }).map((f) => [f.path, f.content]));
    expect(Object.keys(files)).toEqual([
      'docker-compose.prod.yml',
      'supervisord.prod.conf',
      'docker/Dockerfile',
      'docker/redis.conf',
      '.env.production.example',
    ]);
    const compose = parse(files['docker-compose.prod.yml'], { merge: true });
    expect(Object.keys(compose.services)).toEqual(['app', 'redis']);
    expect(compose.services.app.environment).toMatchObject({ REDIS_HOST: 'redis', REDIS_DB: '0', REDIS_CACHE_DB: '1', REDIS_SESSION_DB: '2' });
    expect(files['docker/redis.conf']).toMatch(/^maxmemory 256mb$\n^maxmemory-policy allkeys-lru$/m);
    expect(files['docker/redis.conf']).toMatch(/^appendonly yes$/m);
    expect(files['supervisord.prod.conf']).toMatch(/^numprocs=5$/m);
    expect(files['supervisord.prod.conf']).toMatch(/--concurrency 4$/m);
  });

  it('the app’s environment in the compose file resolves with rqctl’s own configuration: queue and sessions on redis-queue, cache on redis-cache', () => {
    const compose = parse(generateFiles()[0].content, { merge: true });
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(compose.services.app.environment as Record<string, string>))
      env[k] = interpolate(String(v), { REDIS_PASSWORD: 'pw' }).value;
    const config = resolveConfig({ env, cwd: temp() });
    expect(config.roles.queue).toMatchObject({ host: 'redis-queue', port: 6379, db: 0, password: 'pw' });
    expect(config.roles.session).toMatchObject({ host: 'redis-queue', db: 2, password: 'pw' });
    expect(config.roles.cache).toMatchObject({ host: 'redis-cache', db: 0, password: 'pw' });
    expect(config.queue.prefix).toBe('bull');
  });

  it('renders the supervisord file for local paths from the same template: only the variables differ', () => {
    const prod = renderSupervisord({ workers: 3, concurrency: 1 }).split('\n');
    const local = renderSupervisord({ workers: 3, concurrency: 1, rqctl: 'node /x/bin/rqctl.js', user: 'me', runDir: '/tmp/run' }).split('\n');
    expect(local).toHaveLength(prod.length);
    const changed = prod.map((l, i) => [l, local[i]]).filter(([a, b]) => a !== b);
    for (const [a, b] of changed) {
      expect(a).toMatch(/rqctl|\/tmp/);
      expect(b).toMatch(/node \/x\/bin\/rqctl\.js|\bme\b|\/tmp\/run/);
    }
    expect(local.filter((l) => l.startsWith('command=node /x/bin/rqctl.js '))).toHaveLength(3);
    expect(local).toContain('user=me');
    expect(local).toContain('file=/tmp/run/supervisor.sock');
  });

  it('a template variable without a value is an error, not text left behind', () => {
    expect(() => renderTemplate('a {{missing}} b', {})).toThrow(/missing/);
    expect(renderTemplate('{{ a }}-{{b}}', { a: 1, b: 'x' })).toBe('1-x');
  });

  it('never overwrites a file with other content without --force; identical files are left alone', () => {
    const out = temp();
    writeGenerated(out, generateFiles());
    // Same content again: nothing to do, no error.
    expect(writeGenerated(out, generateFiles()).written).toEqual([]);
    writeFileSync(join(out, 'supervisord.prod.conf'), '; my edits\n');
    let err: unknown;
    try {
      writeGenerated(out, generateFiles({ workers: 5 }));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RqctlError);
    expect((err as RqctlError).exitCode).toBe(2);
    expect((err as RqctlError).message).toContain('supervisord.prod.conf');
    // All or nothing: the file that would change stays as the operator left it.
    expect(readFileSync(join(out, 'supervisord.prod.conf'), 'utf8')).toBe('; my edits\n');
    const forced = writeGenerated(out, generateFiles({ workers: 5 }), { force: true });
    expect(forced.written).toEqual(['docker-compose.prod.yml', 'supervisord.prod.conf']);
    expect(readFileSync(join(out, 'supervisord.prod.conf'), 'utf8')).toMatch(/^numprocs=5$/m);
    expect(existsSync(join(out, 'docker/redis-cache.conf'))).toBe(true);
  });
});
