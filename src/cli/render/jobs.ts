import type { Output } from '../render.js';
import type { JobDescription } from '../../jobs/describe.js';

/** `jobs`: a table of the job types; `jobs <job>`: one type, its methods and their params. */
export function printJobTypes(out: Output, jobs: JobDescription[], one: boolean): void {
  out.result({ jobs }, () => {
    if (!one) {
      out.line(
        out.table(
          ['job', 'queue', 'tries', 'backoff', 'timeout', 'methods'],
          jobs.map((j) => [j.name, j.queue, j.tries, `${j.backoff}s`, `${j.timeout}s`, j.methods.map((m) => m.name).join(', ') || '-']),
        ),
      );
      out.info('`rqctl jobs <job>` shows the methods and their params');
      return;
    }
    const j = jobs[0];
    out.line(
      out.kv([
        ['job', j.name],
        ['queue', j.queue],
        ['tries', j.tries],
        ['backoff', `${j.backoff}s (fixed)`],
        ['timeout', `${j.timeout}s`],
        ['description', j.description],
      ]),
    );
    for (const m of j.methods) {
      out.line('');
      out.line(`${out.c.bold(m.name)}${m.request ? `  ${m.request}` : ''}${m.family ? `  → ${m.family}_<md5>` : ''}`);
      if (!m.params.length) {
        out.line('  (no params)');
        continue;
      }
      out.line(
        out.table(
          ['  param', 'type', 'default', 'description'],
          m.params.map((p) => [`  ${p.name}`, p.type, p.required ? '(required)' : p.default === undefined ? '-' : String(p.default), p.description]),
        ),
      );
    }
  });
}
