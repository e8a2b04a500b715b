import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, realpathSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, parse as parseYaml, parseDocument, stringify as stringifyYaml } from 'yaml';
import { ROOT } from './cli.js';

/**
 * The deployment files of a test deploy and the compose override that makes them run under the
 * network rule: every service on the host's network (no bridge, no container IPs, published ports
 * discarded by the engine), each Redis on 127.0.0.1 and a free port, the images built FROM the
 * locally imported base image.
 */

/**
 * The build context of the app image: this checkout as CI leaves it (dist/ built, node_modules
 * installed), so the Dockerfile needs no registry. node_modules is hard-linked, then pruned to the
 * production dependencies here (what the Dockerfile's `npm prune --omit=dev` would keep: a third of
 * the size to send and copy). Files already in `dir` (the deployment files under test) are kept.
 */
export function copyBuildContext(dir: string): void {
  const skip = new Set(['.git', 'node_modules', 'test', 'bench', 'coverage', '.rqctl', '.env']);
  for (const entry of readdirSync(ROOT)) {
    if (skip.has(entry) || entry.endsWith('.log') || existsSync(join(dir, entry))) continue;
    cpSync(join(ROOT, entry), join(dir, entry), { recursive: true });
  }
  const modules = realpathSync(join(ROOT, 'node_modules'));
  const target = join(dir, 'node_modules');
  if (spawnSync('cp', ['-al', modules, target]).status !== 0) {
    cpSync(modules, target, { recursive: true });
    return;
  }
  // npm rewrites its hidden lockfile in place: give the copy its own, or pruning the copy would
  // rewrite this checkout's too.
  const hidden = join(target, '.package-lock.json');
  if (existsSync(hidden)) {
    const text = readFileSync(hidden);
    unlinkSync(hidden);
    writeFileSync(hidden, text);
  }
  const before = existsSync(join(modules, '.package-lock.json')) ? readFileSync(join(modules, '.package-lock.json'), 'utf8') : '';
  const prune = spawnSync('npm', ['prune', '--omit=dev', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: dir, encoding: 'utf8' });
  const after = existsSync(join(modules, '.package-lock.json')) ? readFileSync(join(modules, '.package-lock.json'), 'utf8') : '';
  if (before !== after) throw new Error('pruning the build context changed this checkout’s node_modules/.package-lock.json');
  // A failed prune leaves the full tree: the Dockerfile prunes it then, only slower.
  if (prune.status !== 0)
    console.log(`[deploy-engine] npm prune in the build context failed (the image build will prune): ${prune.stderr.trim().split('\n').pop()}`);
}

type Service = Record<string, any>;

export function isRedisService(svc: Service): boolean {
  if (svc.build) return false;
  const cmd = Array.isArray(svc.command) ? svc.command.join(' ') : String(svc.command ?? '');
  return /(^|[\s/])redis-server(\s|$)/.test(cmd) || /(^|\/)(redis|valkey)(:|$)/.test(String(svc.image ?? ''));
}

export function runsSupervisord(svc: Service): boolean {
  const cmd = Array.isArray(svc.command) ? svc.command.join(' ') : String(svc.command ?? '');
  return /(^|[\s/])supervisord(\s|$)/.test(cmd);
}

/** The Redis services of a `compose config` output. */
export function redisServiceNames(config: string): string[] {
  const doc = parseYaml(config, { merge: true }) as { services: Record<string, Service> };
  return Object.keys(doc.services).filter((n) => isRedisService(doc.services[n]));
}

export interface OverrideInput {
  /** The compose file (YAML as written; merge keys are applied here). */
  config: string;
  baseImage: string;
  /** A free port per Redis service. */
  ports: Record<string, number>;
  /** The password the healthcheck gives; with `healthcheckUser`, REDISCLI_AUTH of the compose file gives it instead. */
  password?: string;
  /** ACL stacks: the user the compose healthcheck logs in as (its password stays in the compose file's REDISCLI_AUTH). */
  healthcheckUser?: string;
  /** The app's rqctl-dashboard: on the host network it listens on 127.0.0.1 and this port. */
  dashboardPort?: number;
}

export function hostNetworkOverride(input: OverrideInput): { yaml: string; redisServices: string[]; appServices: string[] } {
  const doc = parseYaml(input.config, { merge: true }) as { services: Record<string, Service> };
  const services: Record<string, Service> = {};
  const redisServices = Object.keys(doc.services).filter((n) => isRedisService(doc.services[n]));
  const appServices = Object.keys(doc.services).filter((n) => !redisServices.includes(n));
  // Longest names first, so `redis-queue` is not read as `redis` followed by `-queue`.
  const byLength = [...redisServices].sort((a, b) => b.length - a.length);
  for (const [name, svc] of Object.entries(doc.services)) {
    const o: Service = { network_mode: 'host' };
    if (redisServices.includes(name)) {
      const port = input.ports[name];
      if (!port) throw new Error(`no port for Redis service ${name}`);
      o.image = input.baseImage;
      const extra = ['--port', String(port), '--bind', '127.0.0.1'];
      const cmd = Array.isArray(svc.command) ? svc.command.map(String) : undefined;
      // `sh -c "… redis-server conf"` (the ACL stack): the flags go at the end of the script.
      if (cmd && cmd[0] === 'sh' && cmd[1] === '-c') o.command = [...cmd.slice(0, -1), `${cmd.at(-1)} ${extra.join(' ')}`];
      else if (cmd) o.command = [...cmd, ...extra];
      else if (typeof svc.command === 'string') o.command = `${svc.command} ${extra.join(' ')}`;
      else o.command = ['redis-server', ...extra];
      const login = input.healthcheckUser ? `--user ${input.healthcheckUser}` : `-a '${input.password}' --no-auth-warning`;
      o.healthcheck = {
        test: ['CMD-SHELL', `redis-cli -p ${port} ${login} ping | grep -q PONG`],
        interval: '1s',
        timeout: '3s',
        retries: 30,
      };
    } else {
      // Docker 20.10 has no start_interval: a 30 s healthcheck interval would make every test
      // deploy wait 30 s for the first check. Same test, checked sooner.
      if (svc.healthcheck && !svc.healthcheck.disable) o.healthcheck = { ...svc.healthcheck, interval: '2s' };
      if (svc.build)
        o.build = {
          ...(typeof svc.build === 'object' ? svc.build : { context: svc.build }),
          args: { ...(svc.build?.args ?? {}), BASE_IMAGE: input.baseImage },
        };
      const env = svc.environment as Record<string, string | null> | undefined;
      if (env && !Array.isArray(env)) {
        const rewritten: Record<string, string> = {};
        for (const [k, v] of Object.entries(env)) {
          if (typeof v !== 'string') continue;
          let nv = v;
          for (const r of byLength) {
            nv = nv.replace(new RegExp(`([/@])${r}(:\\d+)?(?=[/?]|$)`, 'g'), `$1127.0.0.1:${input.ports[r]}`);
            if (nv === r) {
              nv = '127.0.0.1';
              const portKey = k.replace(/HOST$/, 'PORT');
              if (portKey !== k) rewritten[portKey] = String(input.ports[r]);
            }
          }
          if (nv !== v) rewritten[k] = nv;
        }
        if (input.dashboardPort && 'DASHBOARD_PORT' in env) {
          rewritten.DASHBOARD_HOST = '127.0.0.1';
          rewritten.DASHBOARD_PORT = String(input.dashboardPort);
        }
        if (Object.keys(rewritten).length) o.environment = rewritten;
      }
    }
    services[name] = o;
  }
  // Every string quoted: compose v1 reads YAML 1.1, where a bare yes or no is a boolean.
  return { yaml: stringifyYaml({ services }, { defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN' }), redisServices, appServices };
}

/**
 * The compose file without `ports:`. Host networking cannot publish ports (compose v1 refuses the
 * combination, the engine would discard them), and an override cannot remove a list in compose v1's
 * merge: so the test deploys this copy, identical but for those lines, plus the override.
 */
export function withoutPorts(text: string): string {
  const doc = parseDocument(text, { merge: true });
  const root = doc.contents;
  if (!isMap(root)) throw new Error('not a compose file');
  for (const item of root.items) {
    const key = String((item.key as { value?: unknown })?.value ?? item.key);
    if (key === 'services' && isMap(item.value)) {
      for (const svc of item.value.items) if (isMap(svc.value)) svc.value.delete('ports');
    } else if (key.startsWith('x-') && isMap(item.value)) {
      item.value.delete('ports'); // an extension field that services merge in with <<
    }
  }
  return doc.toString();
}

/** The supervisord file with one program's `command=` replaced. */
export function withProgramCommand(conf: string, program: string, command: string): string {
  const lines = conf.split('\n');
  let inProgram = false;
  let replaced = false;
  for (let i = 0; i < lines.length; i++) {
    const section = /^\s*\[([^\]]+)\]/.exec(lines[i]);
    if (section) inProgram = section[1].trim() === `program:${program}`;
    else if (inProgram && /^\s*command\s*=/.test(lines[i])) {
      lines[i] = `command=${command}`;
      replaced = true;
    }
  }
  if (!replaced) throw new Error(`no command= for [program:${program}]`);
  return lines.join('\n');
}

export function rewriteFile(path: string, edit: (text: string) => string): void {
  writeFileSync(path, edit(readFileSync(path, 'utf8')));
}
