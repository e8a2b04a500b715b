import { ExitCode, RqctlError } from '../errors.js';
import type { JobType } from './types.js';

/**
 * name → job type. The bundled job families register here; `rqctl jobs` lists them, the worker
 * looks processors up by the BullMQ job name, `dispatch` validates payloads against their schemas.
 */
const registry = new Map<string, JobType<any>>();

export function registerJobType(type: JobType<any>): void {
  registry.set(type.name, type);
}

export function jobTypes(): JobType<any>[] {
  return [...registry.values()];
}

export function findJobType(name: string): JobType<any> | undefined {
  return registry.get(name);
}

export function getJobType(name: string): JobType<any> {
  const t = registry.get(name);
  if (!t) {
    throw new RqctlError('UNKNOWN_JOB', ExitCode.usage, `unknown job "${name}"`, {
      hint: `known jobs: ${[...registry.keys()].join(', ') || '(none)'}; see \`rqctl jobs\``,
    });
  }
  return t;
}
