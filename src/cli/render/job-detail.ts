import type { Output } from '../render.js';
import type { JobDetail } from '../../queue/walk/detail.js';
import { formatAgo } from '../../util/duration.js';

/** One job in detail (`jobs show`, `failed show`): the fields, then reason, payload, return value, the last stack trace and the logs. */

function iso(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}

function stateLabel(out: Output, job: JobDetail): string {
  const text = job.corrupt ? `${job.state}, corrupt` : job.state;
  if (job.corrupt || job.state === 'failed') return out.c.red(text);
  return job.state === 'completed' ? out.c.green(text) : text;
}

export function printJobDetail(out: Output, job: JobDetail, now = Date.now()): void {
  out.result(job, () => {
    const finished = job.state === 'failed' || job.state === 'completed' ? job.state : 'finished';
    out.line(
      out.kv([
        ['id', job.id],
        ['queue', job.queue],
        ['job', job.method ? `${job.name} ${job.method}` : job.name],
        ['state', stateLabel(out, job)],
        ['attempts', job.corrupt ? job.attemptsMade : `${job.attemptsMade} of ${job.attempts}`],
        ['added', `${iso(job.timestamp) ?? '-'}${job.delay ? ` (delay ${job.delay} ms)` : ''}`],
        ['processed', iso(job.processedOn)],
        ...(job.finishedOn || job.state === 'failed' || job.state === 'completed'
          ? ([[finished, job.finishedOn ? `${iso(job.finishedOn)} (${formatAgo(job.finishedOn, now)})` : null]] as [string, string | null][])
          : []),
        ...(job.parentKey ? ([['parent', job.parentKey]] as [string, string][]) : []),
      ]),
    );
    if (job.corrupt) {
      out.line();
      out.line(out.c.red(`corrupt: ${job.corrupt}`));
    }
    if (job.failedReason || job.state === 'failed') {
      out.line();
      out.line(out.c.bold(job.state === 'failed' ? 'reason' : 'last failure'));
      out.line(`  ${job.failedReason || '-'}`);
    }
    out.line();
    out.line(out.c.bold(job.corrupt ? 'payload (raw, as stored)' : 'payload'));
    const payload = job.corrupt ? String(job.data) : JSON.stringify(job.data, null, 2);
    out.line(payload.replace(/^/gm, '  '));
    if (job.returnvalue !== undefined && job.returnvalue !== null) {
      out.line();
      out.line(out.c.bold('return value'));
      const text = typeof job.returnvalue === 'string' ? job.returnvalue : JSON.stringify(job.returnvalue, null, 2);
      out.line(text.replace(/^/gm, '  '));
    }
    if (job.stacktrace.length) {
      out.line();
      out.line(out.c.bold(`stack trace${job.stacktrace.length > 1 ? ` (last of ${job.stacktrace.length} attempts)` : ''}`));
      out.line(job.stacktrace[job.stacktrace.length - 1].replace(/^/gm, '  '));
    }
    if (job.logCount) {
      out.line();
      out.line(out.c.bold(`logs (${job.logs.length < job.logCount ? `last ${job.logs.length} of ${job.logCount}` : job.logCount})`));
      for (const l of job.logs) out.line(`  ${l}`);
    }
  });
}
