import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, parse as parseYaml, parseDocument, stringify as stringifyYaml } from 'yaml';
import { ROOT } from './cli.js';

/**
 * The deployment files of a test deploy and the compose override that makes them run under the
 * network rule: every service on the host's network (no bridge, no container IPs, published ports
 * discarded by the engine), each Redis on 127.0.0.1 and a free port, the images built FROM the
 * locally imported base image.
 */

/** Copies what a Dockerfile's build context needs from this repository (built dist/ included). */
export function copyBuildContext(dir: string): void {
  for (const p of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'bin', 'dist', 'src', 'templates', '.dockerignore']) {
    if (existsSync(join(ROOT, p))) cpSync(join(ROOT, p), join(dir, p), { recursive: true });
  }
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
  password: string;
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
      if (Array.isArray(svc.command)) o.command = [...svc.command.map(String), ...extra];
      else if (typeof svc.command === 'string') o.command = `${svc.command} ${extra.join(' ')}`;
      else o.command = ['redis-server', ...extra];
      o.healthcheck = {
        test: ['CMD-SHELL', `redis-cli -p ${port} -a '${input.password}' --no-auth-warning ping | grep -q PONG`],
        interval: '1s',
        timeout: '3s',
        retries: 30,
      };
    } else {
      if (svc.build) o.build = { ...(typeof svc.build === 'object' ? svc.build : { context: svc.build }), args: { ...(svc.build?.args ?? {}), BASE_IMAGE: input.baseImage } };
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
