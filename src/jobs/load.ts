import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Config } from '../config/resolve.js';
import { ExitCode, RqctlError } from '../errors.js';
import { jobTypes, registerJobType } from './registry.js';
import type { JobType } from './types.js';

/**
 * Loads the job types a process may run or dispatch: the bundled ones (`./index.js` registers them
 * on import) and the operator's extra job modules (`jobs.modules` in rqctl.config.yaml, or
 * RQCTL_EXTRA_JOBS=path,path). An extra module default-exports a job type or an array of them (or
 * exports `jobTypes`); each is `{name, queue, schema, process, tries?, backoff?, timeout?}` as in
 * src/jobs/types.ts, with `schema` anything that has zod's `safeParse`.
 */
export async function loadJobTypes(config: Pick<Config, 'jobs'>, cwd: string): Promise<JobType<any>[]> {
  await loadBundledJobTypes();
  for (const spec of config.jobs.modules) await loadJobModule(spec, cwd);
  return jobTypes();
}

let bundled: Promise<void> | undefined;

/**
 * Registers the bundled job types only (importing src/jobs/index.ts does): enough for the schedule
 * to know a job entry's queue, tries, backoff and payload schema. Loaded on demand: the job
 * implementations pull in providers and nodemailer, which `--help` must not load.
 */
export function loadBundledJobTypes(): Promise<void> {
  // A variable specifier: the bundled job families arrive in their own module, and a build without
  // them (or a test of the worker alone) still runs the operator's modules.
  const specifier = './index.js';
  bundled ??= import(specifier).then(
    () => undefined,
    (e: NodeJS.ErrnoException) => {
      // Only the bundled module itself missing is fine; a missing import inside it is a real error.
      if (e?.code === 'ERR_MODULE_NOT_FOUND' && /Cannot find module '[^']*[\\/]jobs[\\/]index\.js'/.test(String(e.message))) return;
      throw e;
    },
  );
  return bundled;
}

/**
 * A path (`./jobs.mjs`, `/srv/jobs.mjs`, or `jobs/my.mjs` when that file exists) or a package name,
 * resolved from the working directory. A name that is both a package and a file is the package.
 */
function moduleUrl(spec: string, cwd: string): string {
  if (spec.startsWith('.') || isAbsolute(spec)) return pathToFileURL(resolve(cwd, spec)).href;
  try {
    return pathToFileURL(createRequire(join(cwd, 'noop.js')).resolve(spec)).href;
  } catch {
    const file = resolve(cwd, spec);
    return existsSync(file) ? pathToFileURL(file).href : spec;
  }
}

const loaded = new Set<string>();

export async function loadJobModule(spec: string, cwd: string): Promise<JobType<any>[]> {
  const url = moduleUrl(spec, cwd);
  if (loaded.has(url)) return [];
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (e) {
    throw new RqctlError('JOB_MODULE', ExitCode.usage, `cannot load job module "${spec}": ${(e as Error).message.split('\n')[0]}`, {
      hint: 'check jobs.modules in rqctl.config.yaml or RQCTL_EXTRA_JOBS (paths are relative to the working directory)',
      cause: e,
    });
  }
  loaded.add(url);
  const exported = mod.default ?? mod.jobTypes;
  const list = exported === undefined ? [] : Array.isArray(exported) ? exported : [exported];
  const types: JobType<any>[] = [];
  for (const [i, t] of list.entries()) {
    const problem = jobTypeProblem(t);
    if (problem)
      throw new RqctlError('JOB_MODULE', ExitCode.usage, `job module "${spec}": export ${i}: ${problem}`, {
        hint: 'export {name, queue, schema, process} (see src/jobs/types.ts)',
      });
    const given = t as JobType<any>;
    const type: JobType<any> = { ...given, queue: given.queue ?? 'default', description: given.description ?? '' };
    registerJobType(type);
    types.push(type);
  }
  return types;
}

function jobTypeProblem(t: unknown): string | undefined {
  if (typeof t !== 'object' || t === null) return 'not an object';
  const o = t as Record<string, unknown>;
  if (typeof o.name !== 'string' || !o.name) return 'name must be a non-empty string';
  if (typeof o.process !== 'function') return `${o.name}: process must be a function`;
  if (typeof o.schema !== 'object' || o.schema === null || typeof (o.schema as { safeParse?: unknown }).safeParse !== 'function')
    return `${o.name}: schema must be a zod schema`;
  if (o.queue !== undefined && typeof o.queue !== 'string') return `${o.name}: queue must be a string`;
  for (const k of ['tries', 'backoff', 'timeout'] as const) {
    if (o[k] !== undefined && (typeof o[k] !== 'number' || !Number.isFinite(o[k]) || (o[k] as number) < 0)) return `${o.name}: ${k} must be a number`;
  }
  return undefined;
}
