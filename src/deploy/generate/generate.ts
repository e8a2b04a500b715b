import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { RqctlError, ExitCode } from '../../errors.js';
import { readTemplate, renderTemplate } from './templates.js';
import { refuseSymlink, refuseSymlinksBelow, writeFileSafely } from '../../util/safe-write.js';

/**
 * `rqctl config generate` (docs/deployment.md): the deployment files, rendered from templates/ (files, not
 * strings in code) with a plain `{{name}}` renderer. The repository's own top-level files are exactly
 * the default output (test/unit/deploy/generate.test.ts regenerates and compares).
 */
export type Topology = 'split' | 'single';

export interface GenerateOptions {
  topology: Topology;
  /** supervisord `numprocs` of rqctl-worker. */
  workers: number;
  /** `rqctl worker --concurrency`. */
  concurrency: number;
  /** ACL users instead of one password (docs/acl.md): aclfiles mounted into each Redis, healthchecks as `healthcheck`. */
  acl?: boolean;
}

export const GENERATE_DEFAULTS: GenerateOptions = { topology: 'split', workers: 3, concurrency: 1, acl: false };

/** What `config generate --acl` adds to .gitignore: the aclfiles `rqctl config acl` writes hold password hashes. */
export const ACL_GITIGNORE = 'docker/*.acl';

/** The old stack's job timeout (queue:work --timeout=300), and the margins the timeout chain needs. */
export const JOB_TIMEOUT = 300;
export const STOPWAIT_MARGIN = 30;
export const GRACE_MARGIN = 30;

export interface GeneratedFile {
  /** Relative to the output folder, with `/`. */
  path: string;
  content: string;
}

export interface SupervisordVars {
  /** How supervisord starts rqctl: `rqctl` in the image, `node /path/bin/rqctl.js` elsewhere. */
  rqctl: string;
  /** The unprivileged account programs and supervisord run as. */
  user: string;
  /** Socket, pid file and child logs. */
  runDir: string;
  workers: number;
  concurrency: number;
  queues: string;
  timeout: number;
  stopwaitsecs: number;
  stopGracePeriod: string;
}

function chain(): { timeout: number; stopwaitsecs: number; stopGracePeriod: string } {
  const stopwaitsecs = JOB_TIMEOUT + STOPWAIT_MARGIN;
  return { timeout: JOB_TIMEOUT, stopwaitsecs, stopGracePeriod: `${stopwaitsecs + GRACE_MARGIN}s` };
}

/** The supervisord file for the image, or — same template, other values — for a local run. */
export function renderSupervisord(vars: Partial<SupervisordVars> & Pick<GenerateOptions, 'workers' | 'concurrency'>): string {
  return renderTemplate(readTemplate('supervisord.prod.conf'), {
    rqctl: 'rqctl',
    user: 'rqctl',
    runDir: '/tmp',
    queues: 'default,emails',
    ...chain(),
    ...vars,
  });
}

export function generateFiles(options: Partial<GenerateOptions> = {}): GeneratedFile[] {
  const o = { ...GENERATE_DEFAULTS, ...options };
  const vars = {
    ...chain(),
    topology: o.topology,
    acl: !!o.acl,
    workers: o.workers,
    concurrency: o.concurrency,
    queueMaxmemory: '512mb',
    queueMemoryLimit: '768M',
    queueMemoryReservation: '512M',
    cacheMaxmemory: '256mb',
  };
  const files: GeneratedFile[] = [
    { path: 'docker-compose.prod.yml', content: renderTemplate(readTemplate(`docker-compose.prod.${o.topology}.yml`), vars) },
    { path: 'supervisord.prod.conf', content: renderSupervisord({ workers: o.workers, concurrency: o.concurrency }) },
    { path: 'docker/Dockerfile', content: renderTemplate(readTemplate('Dockerfile'), vars) },
  ];
  if (o.topology === 'split') {
    files.push({ path: 'docker/redis-queue.conf', content: renderTemplate(readTemplate('redis-queue.conf'), vars) });
    files.push({ path: 'docker/redis-cache.conf', content: renderTemplate(readTemplate('redis-cache.conf'), vars) });
  } else {
    files.push({ path: 'docker/redis.conf', content: renderTemplate(readTemplate('redis-single.conf'), vars) });
  }
  files.push({ path: '.env.production.example', content: renderTemplate(readTemplate(`env.production.${o.topology}.example`), vars) });
  return files;
}

export interface WriteResult {
  outDir: string;
  written: string[];
  unchanged: string[];
}

/**
 * Writes the files under `outDir`, all or nothing: a file that exists with other content is only
 * replaced with `force` (otherwise exit 2 naming every such file, nothing written).
 */
export function writeGenerated(outDir: string, files: GeneratedFile[], options: { force?: boolean } = {}): WriteResult {
  const abs = resolve(outDir);
  const conflicts: string[] = [];
  const unchanged: string[] = [];
  // A link at a file or a subdirectory would make the write (and the comparison's read) land elsewhere:
  // refused before anything is read or written.
  for (const f of files) refuseSymlinksBelow(abs, join(abs, f.path));
  for (const f of files) {
    const target = join(abs, f.path);
    if (!existsSync(target)) continue;
    if (readFileSync(target, 'utf8') === f.content) unchanged.push(f.path);
    else conflicts.push(f.path);
  }
  if (conflicts.length && !options.force) {
    throw new RqctlError(
      'FILES_EXIST',
      ExitCode.usage,
      `${conflicts.length === 1 ? 'this file exists' : 'these files exist'} with other content and would be overwritten: ${conflicts.join(', ')}`,
      {
        hint: 'nothing was written; pass --force to overwrite them, or --out DIR to write elsewhere',
        details: { files: conflicts },
      },
    );
  }
  const written: string[] = [];
  for (const f of files) {
    if (unchanged.includes(f.path)) continue;
    const target = join(abs, f.path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSafely(target, f.content);
    written.push(f.path);
  }
  return { outDir: abs, written, unchanged };
}

export interface GenerateReport {
  outDir: string;
  topology: Topology;
  workers: number;
  concurrency: number;
  files: { path: string; status: 'written' | 'unchanged' }[];
}

/** `rqctl config generate`: renders the files and writes them under `outDir` (see writeGenerated). */
export function generateInto(outDir: string, options: Partial<GenerateOptions> = {}, write: { force?: boolean } = {}): GenerateReport {
  const o = { ...GENERATE_DEFAULTS, ...options };
  const files = generateFiles(o);
  const result = writeGenerated(outDir, files, write);
  const report: GenerateReport = {
    outDir: result.outDir,
    topology: o.topology,
    workers: o.workers,
    concurrency: o.concurrency,
    files: files.map((f) => ({ path: f.path, status: result.written.includes(f.path) ? 'written' : 'unchanged' })),
  };
  if (o.acl) report.files.push({ path: '.gitignore', status: ignoreLine(result.outDir, ACL_GITIGNORE) });
  return report;
}

/** Adds `line` to the folder's .gitignore unless it is there already (the rest of the file is the project's own). */
function ignoreLine(dir: string, line: string): 'written' | 'unchanged' {
  const path = join(dir, '.gitignore');
  refuseSymlink(path);
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
  if (text.split(/\r?\n/).some((l) => l.trim() === line)) return 'unchanged';
  const comment = "# ACL users' password hashes, written by `rqctl config acl` and `rqctl deploy`";
  writeFileSafely(path, `${text}${text && !text.endsWith('\n') ? '\n' : ''}${comment}\n${line}\n`);
  return 'written';
}
