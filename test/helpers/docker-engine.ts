import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  copyFileSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * A private Docker engine for end-to-end tests, under the network rule of these machines: nothing
 * but 127.0.0.1. The daemon gets no bridge, no iptables, no masquerading and no userland proxy, so a
 * container can only have no network or the host's; registry traffic is pointed at a closed port on
 * 127.0.0.1 (HTTP(S)_PROXY), so an accidental pull fails at once instead of leaving the machine.
 * Everything lives in one temporary directory; stop() ends the daemon by PID and removes it.
 */

/** Why this machine cannot run the engine tests (undefined: it can try). */
export function engineSkipReason(): string | undefined {
  if (process.env.RQCTL_SKIP_ENGINE_TESTS) return 'RQCTL_SKIP_ENGINE_TESTS is set';
  if (process.platform !== 'linux') return 'the Docker engine tests need Linux';
  if (process.getuid?.() !== 0) return 'the Docker engine tests start their own dockerd, which needs root';
  for (const bin of ['dockerd', 'docker']) if (!which(bin)) return `${bin} is not installed (scripts/setup.sh installs docker.io with RQCTL_SETUP_DOCKER=1)`;
  if (!which('docker-compose') && spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status !== 0) {
    return 'neither docker-compose nor the docker compose plugin is installed';
  }
  return undefined;
}

export function which(bin: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    const p = join(dir, bin);
    if (existsSync(p)) return p;
  }
  for (const dir of ['/usr/sbin', '/sbin']) if (existsSync(join(dir, bin))) return join(dir, bin);
  return undefined;
}

/** Environment that keeps every registry request on 127.0.0.1 (a closed port): pulls fail fast. */
export const NO_EGRESS_ENV = {
  HTTP_PROXY: 'http://127.0.0.1:9',
  HTTPS_PROXY: 'http://127.0.0.1:9',
  http_proxy: 'http://127.0.0.1:9',
  https_proxy: 'http://127.0.0.1:9',
  NO_PROXY: '',
  no_proxy: '',
};

export interface Dockerd {
  dir: string;
  host: string;
  pid: number;
  /** Runs the docker CLI against this engine. */
  docker(args: string[], options?: { input?: Buffer | string; timeoutMs?: number }): { status: number | null; stdout: string; stderr: string };
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

function mountsUnder(dir: string): string[] {
  try {
    return readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[1]?.replace(/\\040/g, ' '))
      .filter((m): m is string => !!m && (m === dir || m.startsWith(`${dir}/`)))
      .sort((a, b) => b.length - a.length);
  } catch {
    return [];
  }
}

function removeTree(dir: string): void {
  for (const m of mountsUnder(dir)) spawnSync('umount', ['-l', m], { stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startDockerd(): Promise<Dockerd> {
  const dir = mkdtempSync(join(tmpdir(), 'rqctl-dockerd-'));
  const sock = join(dir, 'docker.sock');
  const host = `unix://${sock}`;
  mkdirSync(join(dir, 'data'));
  mkdirSync(join(dir, 'exec'));
  const log = openSync(join(dir, 'dockerd.log'), 'a');
  const args = [
    '--bridge=none',
    '--iptables=false',
    '--ip6tables=false',
    '--ip-masq=false',
    '--ip-forward=false',
    '--userland-proxy=false',
    `--data-root=${join(dir, 'data')}`,
    `--exec-root=${join(dir, 'exec')}`,
    `--pidfile=${join(dir, 'docker.pid')}`,
    `--host=${host}`,
    '--shutdown-timeout=5',
    '--log-level=warn',
  ];
  let child: ChildProcess;
  try {
    child = spawn(which('dockerd') ?? 'dockerd', args, {
      stdio: ['ignore', log, log],
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...NO_EGRESS_ENV },
      detached: false,
    });
  } finally {
    closeSync(log);
  }
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let running = true;
  void exited.then(() => (running = false));
  const logTail = (lines = 30) => {
    try {
      return readFileSync(join(dir, 'dockerd.log'), 'utf8').trim().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  };
  const docker: Dockerd['docker'] = (cliArgs, options = {}) => {
    const r = spawnSync('docker', cliArgs, {
      env: { PATH: process.env.PATH, HOME: dir, DOCKER_HOST: host, DOCKER_CONFIG: join(dir, 'cli'), ...NO_EGRESS_ENV },
      input: options.input,
      timeout: options.timeoutMs ?? 120_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { status: r.status, stdout: r.stdout?.toString() ?? '', stderr: r.stderr?.toString() ?? '' };
  };
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (running && child.pid) {
      child.kill('SIGTERM');
      const gone = await Promise.race([exited.then(() => true), sleep(30_000).then(() => false)]);
      if (!gone) {
        child.kill('SIGKILL');
        await exited;
      }
    }
    // A daemon that died hard leaves its managed containerd behind: end it by its PID file.
    const ctrPid = readPid(join(dir, 'exec', 'containerd', 'containerd.pid'));
    if (ctrPid && isAlive(ctrPid)) {
      process.kill(ctrPid, 'SIGTERM');
      for (let i = 0; i < 50 && isAlive(ctrPid); i++) await sleep(100);
      if (isAlive(ctrPid)) process.kill(ctrPid, 'SIGKILL');
    }
    removeTree(dir);
  };
  const d: Dockerd = { dir, host, pid: child.pid ?? -1, docker, logTail, stop };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (!running) {
      const tail = logTail(15);
      await stop();
      throw new Error(`dockerd exited during start-up:\n${tail}`);
    }
    if (existsSync(sock) && docker(['version', '--format', '{{.Server.Version}}'], { timeoutMs: 10_000 }).status === 0) return d;
    if (Date.now() > deadline) {
      const tail = logTail(15);
      await stop();
      throw new Error(`dockerd did not answer within 60s:\n${tail}`);
    }
    await sleep(300);
  }
}

function readPid(path: string): number | undefined {
  try {
    const n = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A base image made of this machine's own binaries (no registry): Node and npm, redis-server and
 * redis-cli, supervisord with the Python it runs on, a shell and the few tools a Dockerfile's RUN
 * lines use, with every shared library `ldd` lists. `docker import` turns the tree into an image.
 */
export interface BaseImageOptions {
  tag: string;
  /** Extra files or directories to copy from the host at the same path. */
  extraPaths?: string[];
  /** Extra `--change` instructions (ENV …). */
  changes?: string[];
}

const BASE_BINARIES = [
  'redis-server',
  'redis-cli',
  'sh',
  'dash',
  'bash',
  'env',
  'cat',
  'ls',
  'mkdir',
  'rm',
  'cp',
  'mv',
  'ln',
  'chmod',
  'chown',
  'id',
  'sleep',
  'echo',
  'true',
  'false',
  'test',
  'grep',
  'sed',
  'tail',
  'head',
  'tr',
  'dirname',
  'basename',
  'touch',
  'readlink',
  'useradd',
  'groupadd',
  'usermod',
  'getent',
  'install',
  'find',
  'xargs',
  'ps',
  'kill',
  'tee',
  'wc',
  'sort',
  'uname',
  'setpriv',
];

/**
 * The official redis image's entrypoint, for the base image: as root, give /data to redis and start
 * redis-server as redis (setpriv instead of gosu), so the generated stack's privilege handling — a
 * 0600 aclfile copied for the redis user before the drop — runs as it does in production.
 */
const REDIS_ENTRYPOINT = `#!/bin/sh
set -e
if [ "$1" = 'redis-server' ] && [ "$(id -u)" = '0' ]; then
  find . \\! -user redis -exec chown redis '{}' +
  exec setpriv --reuid=redis --regid=redis --clear-groups "$@"
fi
exec "$@"
`;

/** System directories only: a developer's PATH (pyenv shims, nvm) must not decide what goes in. */
const SYSTEM_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

function systemBinary(name: string): string | undefined {
  return SYSTEM_DIRS.map((d) => join(d, name)).find((p) => existsSync(p));
}

function realPath(p: string): string {
  const r = spawnSync('readlink', ['-f', p]);
  return r.status === 0 ? r.stdout.toString().trim() : p;
}

/** The interpreter a script's `#!` line names (supervisord's Python). */
function shebang(script: string): string | undefined {
  try {
    const first = readFileSync(script, 'utf8').split('\n', 1)[0];
    return /^#!\s*(\S+)/.exec(first)?.[1];
  } catch {
    return undefined;
  }
}

function lddDeps(file: string): string[] {
  const r = spawnSync('ldd', [file]);
  if (r.status !== 0) return [];
  return [...r.stdout.toString().matchAll(/(\/[^\s)]+)/g)].map((m) => m[1]);
}

/** Copies a host file into the tree at the same path, symlinks resolved (merged /usr layout). */
function copyIn(root: string, hostPath: string, inImage: string): void {
  const target = join(root, inImage);
  if (existsSync(target)) return;
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(hostPath, target);
  chmodSync(target, lstatSync(hostPath).mode & 0o7777 || 0o755);
}

/** /lib/x → /usr/lib/x and so on: the tree has the merged-/usr symlinks, files live under usr/. */
function canonical(p: string): string {
  return p.replace(/^\/(bin|sbin|lib|lib64)\//, '/usr/$1/');
}

export function assembleRootfs(root: string, extraPaths: string[] = []): void {
  for (const d of ['usr/bin', 'usr/sbin', 'usr/lib', 'usr/lib64', 'usr/local/bin', 'etc', 'root', 'home/node', 'var/log', 'run', 'data'])
    mkdirSync(join(root, d), { recursive: true });
  for (const l of ['bin', 'sbin', 'lib', 'lib64']) symlinkSync(`usr/${l}`, join(root, l));
  mkdirSync(join(root, 'tmp'), { mode: 0o1777 });
  chmodSync(join(root, 'tmp'), 0o1777);

  // Path in the image → host path. Binaries keep their names (python3 → python3.11 stays a link).
  const files = new Map<string, string>();
  const add = (host: string, inImage: string) => files.set(inImage, host);
  const link = (from: string, to: string) => {
    const l = join(root, canonical(from));
    mkdirSync(dirname(l), { recursive: true });
    if (!existsSync(l) && canonical(from) !== canonical(to)) symlinkSync(canonical(to), l);
  };
  // The Node running these tests is the Node of the image, where `#!/usr/bin/env node` finds it.
  add(realPath(process.execPath), '/usr/local/bin/node');
  for (const name of BASE_BINARIES) {
    const p = systemBinary(name);
    if (!p) continue;
    const real = realPath(p);
    add(real, canonical(real));
    link(p, real);
  }
  // supervisord and the Python its #! line names, with the standard library (without tests and
  // GUI), supervisor and pkg_resources (supervisord loads its RPC interface through it).
  const supervisord = systemBinary('supervisord');
  const python = supervisord ? shebang(supervisord) : undefined;
  const pythonReal = python && existsSync(python) ? realPath(python) : undefined;
  const pyVersion = pythonReal ? /python(\d+\.\d+)/.exec(pythonReal)?.[1] : undefined;
  if (python && pythonReal && pyVersion) {
    add(pythonReal, canonical(pythonReal));
    link(python, pythonReal);
    link('/usr/bin/python3', pythonReal);
    const stdlib = `/usr/lib/python${pyVersion}`;
    cpSync(stdlib, join(root, stdlib), {
      recursive: true,
      verbatimSymlinks: true,
      filter: (src) => !/\/(test|tests|idlelib|tkinter|turtledemo|ensurepip|lib2to3)(\/|$)/.test(src.slice(stdlib.length)) && !src.includes('site-packages'),
    });
    for (const so of readdirSync(join(stdlib, 'lib-dynload'))) for (const lib of lddDeps(join(stdlib, 'lib-dynload', so))) add(lib, canonical(lib));
    const dist = '/usr/lib/python3/dist-packages';
    for (const entry of readdirSync(dist)) {
      if (/^(supervisor|pkg_resources)/.test(entry)) cpSync(join(dist, entry), join(root, dist, entry), { recursive: true, verbatimSymlinks: true });
    }
  }
  for (const tool of ['supervisord', 'supervisorctl']) {
    const p = systemBinary(tool);
    if (p) copyIn(root, p, canonical(p));
  }
  // npm, for Dockerfiles that run it (offline, from the cache the test provides).
  const npmCli = systemBinary('npm') ? realPath(systemBinary('npm')!) : undefined;
  if (npmCli && npmCli.includes('/node_modules/npm/')) {
    const npmDir = npmCli.slice(0, npmCli.indexOf('/node_modules/npm/') + '/node_modules/npm'.length);
    cpSync(npmDir, join(root, '/usr/local/lib/node_modules/npm'), { recursive: true, verbatimSymlinks: true });
    symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(root, 'usr/local/bin/npm'));
    symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', join(root, 'usr/local/bin/npx'));
  }
  for (const p of extraPaths) {
    if (!existsSync(p)) continue;
    if (lstatSync(p).isDirectory()) cpSync(p, join(root, canonical(p)), { recursive: true, verbatimSymlinks: true });
    else add(p, canonical(p));
  }
  const libs = new Map<string, string>();
  for (const [inImage, host] of files) {
    copyIn(root, host, inImage);
    for (const lib of lddDeps(host)) libs.set(canonical(lib), lib);
  }
  for (const [inImage, host] of libs) if (existsSync(host)) copyIn(root, host, inImage);
  // The users the Dockerfiles of the Node and Redis images provide.
  writeFileSync(
    join(root, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/bash\nnode:x:1000:1000::/home/node:/bin/sh\nredis:x:999:999::/data:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n',
  );
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\nredis:x:999:\nnode:x:1000:\nnogroup:x:65534:\n');
  writeFileSync(join(root, 'etc/shadow'), 'root:*:19000:0:99999:7:::\nnode:!:19000:0:99999:7:::\nredis:!:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n', {
    mode: 0o640,
  });
  writeFileSync(join(root, 'etc/gshadow'), 'root:*::\nredis:!::\nnode:!::\nnogroup:*::\n', { mode: 0o640 });
  for (const f of ['/etc/login.defs', '/etc/nsswitch.conf']) if (existsSync(f)) copyIn(root, f, f);
  spawnSync('chown', ['-R', '1000:1000', join(root, 'home/node')]);
  writeFileSync(join(root, 'usr/local/bin/docker-entrypoint.sh'), REDIS_ENTRYPOINT, { mode: 0o755 });
  // Redis' data directory: writable whoever runs redis-server (the official image drops to `redis`;
  // here it may stay root, without CAP_DAC_OVERRIDE when compose drops every capability).
  chmodSync(join(root, 'data'), 0o1777);
  // …and owned by redis, as in the official image, whose entrypoint then has nothing to chown there
  // (it could not: the cache server's root filesystem is read-only and has no volume on /data).
  spawnSync('chown', ['999:999', join(root, 'data')]);
}

export function buildBaseImage(engine: Dockerd, options: BaseImageOptions): void {
  const root = mkdtempSync(join(tmpdir(), 'rqctl-rootfs-'));
  try {
    const extraDirs = (options.extraPaths ?? []).filter((p) => existsSync(p) && lstatSync(p).isDirectory());
    assembleRootfs(
      root,
      (options.extraPaths ?? []).filter((p) => !extraDirs.includes(p)),
    );
    // WORKDIR /data as in the official Redis image: redis-server's default `dir ./` is its data directory.
    const changes = ['ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'WORKDIR /data', 'CMD ["/bin/sh"]', ...(options.changes ?? [])];
    // Extra directories (the npm cache) go straight from the host into the archive, at their path.
    const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    const tar = ['tar', '-cf', '-', '-C', q(root), '.', ...(extraDirs.length ? ['-C', '/', ...extraDirs.map((d) => q(d.replace(/^\/+/, '')))] : [])].join(' ');
    const imp = ['docker', 'import', ...changes.flatMap((c) => ['--change', q(c)]), '-', q(options.tag)].join(' ');
    const r = spawnSync('bash', ['-o', 'pipefail', '-c', `${tar} | ${imp}`], {
      env: { PATH: process.env.PATH, HOME: engine.dir, DOCKER_HOST: engine.host, DOCKER_CONFIG: join(engine.dir, 'cli'), ...NO_EGRESS_ENV },
      timeout: 300_000,
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`building the base image failed: ${r.stderr}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
