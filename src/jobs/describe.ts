import type { Config } from '../config/resolve.js';
import { usageError } from '../errors.js';
import { FETCH_METHODS } from './fetch/methods.js';
import { findJobType, jobTypes } from './index.js';
import { DEFAULT_BACKOFF_SECONDS, DEFAULT_TIMEOUT_SECONDS, DEFAULT_TRIES } from './define.js';
import type { JobType } from './types.js';

/** What `rqctl jobs` shows: plain data, rendered by the CLI. */
export interface JobDescription {
  name: string;
  queue: string;
  description: string;
  tries: number;
  backoff: number;
  timeout: number;
  methods: MethodDescription[];
}

export interface MethodDescription {
  name: string;
  request?: string;
  family?: string;
  params: { name: string; type: string; required: boolean; default?: string | number | boolean; description: string }[];
}

const TEMPLATE_PARAMS: MethodDescription['params'] = [
  { name: 'to', type: 'string', required: false, default: 'ADMIN_EMAIL', description: 'recipient' },
  { name: 'name', type: 'string', required: true, description: 'who asked' },
  { name: 'email', type: 'string', required: true, description: 'their e-mail address (Reply-To)' },
  { name: 'phone', type: 'string', required: false, description: 'their phone number' },
  { name: 'message', type: 'string', required: true, description: 'the inquiry' },
  { name: 'property', type: 'string', required: false, description: 'the property asked about (or an object with title, address, url, id in --data)' },
];

function methodsOf(type: JobType<any>): MethodDescription[] {
  return (type.methods ?? []).map((name) => {
    const m = FETCH_METHODS.get(name);
    if (!m) return { name, params: type.name === 'SendEmail' ? TEMPLATE_PARAMS : [] };
    return {
      name,
      request: `GET ${m.path}`,
      family: m.family,
      params: Object.entries(m.params).map(([p, spec]) => ({
        name: p,
        type:
          spec.type === 'days'
            ? 'integer|max'
            : spec.type === 'int'
              ? 'integer'
              : spec.type === 'bool'
                ? 'boolean'
                : spec.type === 'list'
                  ? 'comma list'
                  : 'string',
        required: !!spec.required,
        default: typeof spec.default === 'function' ? (p === 'to' ? 'today 00:00 UTC' : p === 'from' ? 'to − 30 days' : 'computed') : spec.default,
        description: spec.description,
      })),
    };
  });
}

export function describeJob(config: Config, type: JobType<any>): JobDescription {
  return {
    name: type.name,
    queue: type.queue,
    description: type.description,
    tries: type.tries ?? config.worker.tries ?? DEFAULT_TRIES,
    backoff: type.backoff ?? config.worker.backoff ?? DEFAULT_BACKOFF_SECONDS,
    timeout: type.timeout ?? config.worker.timeout ?? DEFAULT_TIMEOUT_SECONDS,
    methods: methodsOf(type),
  };
}

export function describeJobs(config: Config, name?: string): JobDescription[] {
  if (name === undefined) return jobTypes().map((t) => describeJob(config, t));
  const t = findJobType(name);
  if (!t)
    throw usageError(
      `unknown job "${name}"`,
      `known jobs: ${jobTypes()
        .map((j) => j.name)
        .join(', ')}`,
    );
  return [describeJob(config, t)];
}
