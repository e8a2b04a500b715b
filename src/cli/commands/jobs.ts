import type { Command } from 'commander';
import { action } from '../context.js';

export function register(program: Command): void {
  program
    .command('jobs [job]')
    .description('the registered job types: methods, queue, tries, backoff, timeout; with a job name, its methods and params')
    .action(
      action(async ({ out, config }, name: string | undefined) => {
        const cfg = await config();
        const { loadJobTypes } = await import('../../jobs/load.js');
        await loadJobTypes(cfg, process.cwd());
        const { describeJobs } = await import('../../jobs/describe.js');
        const jobs = describeJobs(cfg, name);
        out.result({ jobs }, () => {
          if (name === undefined) {
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
      }),
    );
}
