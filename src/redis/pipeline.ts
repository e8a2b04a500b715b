import { ReplyError } from 'ioredis';
import { ExitCode, RqctlError } from '../errors.js';

type PipelineReplies = [Error | null, unknown][];

/**
 * `pipeline.exec()` resolves even when the connection is gone: every reply then holds a "Connection
 * is closed" error. Treating those like per-command errors (WRONGTYPE on one key) would turn a lost
 * Redis into "0 jobs" or "every job corrupt". This throws them instead (exit 3), and leaves genuine
 * command errors (Redis' own error replies) in place for the caller.
 */
export async function execPipeline(pipeline: { exec(): Promise<PipelineReplies | null> }): Promise<PipelineReplies> {
  const replies = (await pipeline.exec()) ?? [];
  for (const [err] of replies) {
    if (err && !(err instanceof ReplyError)) throw lostConnection(err);
  }
  return replies;
}

/** True for errors of the connection (closed, reset, refused), not Redis' error replies. */
export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error) || err instanceof ReplyError || err instanceof RqctlError) return false;
  const code = (err as NodeJS.ErrnoException).code;
  return (
    /Connection is closed|Stream isn't writeable|connect ETIMEDOUT|Connection is in monitoring mode|Reached the max retries per request limit|ClusterAllFailedError|Cluster isn't ready|Failed to refresh slots cache/i.test(
      err.message,
    ) ||
    code === 'ECONNRESET' ||
    code === 'ECONNREFUSED' ||
    code === 'EPIPE' ||
    code === 'ETIMEDOUT'
  );
}

export function lostConnection(err: unknown): RqctlError {
  const msg = String((err as Error)?.message ?? err).split('\n')[0];
  return new RqctlError('REDIS_UNREACHABLE', ExitCode.unreachable, `lost the connection to Redis: ${msg}`, {
    hint: 'check that Redis is up and reachable; nothing after this point was done',
    cause: err,
  });
}
