import { UnrecoverableError } from 'bullmq';
import type { z, ZodType } from 'zod';
import type { JobContext, JobType } from './types.js';

/** The defaults every bundled job type declares (docs/jobs.md). */
export const DEFAULT_TRIES = 3;
export const DEFAULT_BACKOFF_SECONDS = 60;
export const DEFAULT_TIMEOUT_SECONDS = 300;

/**
 * `params.page: page must be an integer (got "abc")`, one line per issue. `error` is zod's, or whatever
 * an extra job module's schema returned from `safeParse` (its message when it has no issues). An
 * issue about the payload as a whole has no path: it is labelled `root` when one is given.
 */
export function formatIssues(error: unknown, root?: string): string[] {
  const issues = (error as { issues?: { path?: PropertyKey[]; message: string }[] } | undefined)?.issues;
  if (!Array.isArray(issues) || !issues.length) return [String((error as Error | undefined)?.message ?? error)];
  return issues.map((i) => {
    const path = i.path?.length ? i.path.map(String).join('.') : root;
    return path === undefined || (path === '' && root === undefined) ? i.message : `${path}: ${i.message}`;
  });
}

type Definition<S extends ZodType> = Omit<JobType<z.output<S>>, 'process' | 'processParsed' | 'schema'> & {
  schema: S;
  run(payload: z.output<S>, ctx: JobContext): Promise<unknown>;
};

/**
 * A job type whose processor validates its payload first: a payload that does not match fails the
 * job at once (UnrecoverableError: no retries) with every problem in the reason, whether or not the
 * caller validated it already. Parsing is idempotent, so a pre-validated payload parses the same.
 */
export function defineJob<S extends ZodType>(def: Definition<S>): JobType<z.output<S>> {
  const { run, ...rest } = def;
  return {
    ...rest,
    async process(payload: unknown, ctx: JobContext) {
      const parsed = def.schema.safeParse(payload);
      if (!parsed.success) throw new UnrecoverableError(`invalid payload for ${def.name}: ${formatIssues(parsed.error).join('; ')}`);
      return run(parsed.data as z.output<S>, ctx);
    },
    processParsed: run,
  } as JobType<z.output<S>>;
}
