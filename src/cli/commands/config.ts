import type { Command } from 'commander';
import { createRequire } from 'node:module';
import { action, intOption } from '../context.js';
import type { Output } from '../render.js';
import { usageError } from '../../errors.js';
import type { Finding, Summary } from '../../deploy/validate/types.js';

export function register(program: Command): void {
  const config = program.command('config').description('show, generate and validate configuration and deployment files');

  config
    .command('show')
    .description('the resolved configuration (flags > environment > config file > defaults), secrets masked')
    .action(
      action(async ({ out, config: load }) => {
        const { describeConfig } = await import('../../config/show.js');
        const shown = describeConfig(await load());
        out.result(shown, () => out.line(JSON.stringify(shown, null, 2)));
      }),
    );

  config
    .command('generate')
    .description('write the deployment files: docker-compose.prod.yml, supervisord.prod.conf, docker/ (Dockerfile, redis confs), .env.production.example')
    .option('--out <dir>', 'output folder', '.')
    .option('--topology <topology>', 'split (a queue+session Redis and a cache Redis) or single (one Redis, the old layout)', 'split')
    .option('--workers <n>', 'rqctl-worker processes (supervisord numprocs)', intOption('--workers', 1, 100), 3)
    .option('--concurrency <n>', 'jobs at a time per worker process', intOption('--concurrency', 1, 1000), 1)
    .option('--force', 'overwrite files that exist with other content')
    .action(
      action(async ({ out }, opts: { out: string; topology: string; workers: number; concurrency: number; force?: boolean }) => {
        if (opts.topology !== 'split' && opts.topology !== 'single') throw usageError(`--topology must be split or single (got "${opts.topology}")`);
        const { generateFiles, writeGenerated } = await import('../../deploy/generate.js');
        const files = generateFiles({ topology: opts.topology, workers: opts.workers, concurrency: opts.concurrency });
        const result = writeGenerated(opts.out, files, { force: opts.force });
        const data = {
          outDir: result.outDir,
          topology: opts.topology,
          workers: opts.workers,
          concurrency: opts.concurrency,
          files: files.map((f) => ({ path: f.path, status: result.written.includes(f.path) ? 'written' : 'unchanged' })),
        };
        out.result(data, () => {
          for (const f of data.files) out.line(`${f.status === 'written' ? out.c.green('wrote    ') : out.c.dim('unchanged')} ${f.path}`);
        });
        out.info(`next: set REDIS_PASSWORD (see .env.production.example), then \`rqctl config validate\` and \`rqctl deploy\``);
      }),
    );

  config
    .command('validate')
    .description('lint deployment files with the rule catalogue (`rqctl config rules`); exit 4 on an error finding')
    .argument(
      '[files...]',
      'compose, supervisord and redis.conf files (default: docker-compose.prod.yml / docker-compose.yml / compose.yaml, supervisord*.conf and *redis*.conf here and in docker/)',
    )
    .option('--format <format>', 'table, json or sarif (--json = json)')
    .option('--strict', 'exit 4 on warnings too')
    .action(
      action(async ({ out, globals }, files: string[], opts: { format?: string; strict?: boolean }) => {
        const format = opts.format ?? (globals.json ? 'json' : 'table');
        if (!['table', 'json', 'sarif'].includes(format)) throw usageError(`--format must be table, json or sarif (got "${format}")`);
        const { validateFiles, discoverFiles } = await import('../../deploy/validate/index.js');
        const { deploymentEnvironment } = await import('../../config/environment.js');
        const cwd = process.cwd();
        const paths = files.length ? files : discoverFiles(cwd);
        if (!paths.length)
          throw usageError(
            'no deployment files here (docker-compose.prod.yml, docker-compose.yml, compose.yaml, supervisord*.conf, *redis*.conf, also in docker/)',
            'name the files, or write them with `rqctl config generate`',
          );
        const result = await validateFiles(paths, { cwd, env: deploymentEnvironment({ envFile: globals.envFile, cwd }) });
        if (format === 'sarif') {
          const { toSarif } = await import('../../deploy/validate/sarif.js');
          const { RULES } = await import('../../deploy/rules/index.js');
          out.line(JSON.stringify(toSarif(result.findings, RULES, version()), null, 2));
        } else if (format === 'json') out.line(JSON.stringify({ findings: result.findings, summary: result.summary, files: result.files }));
        else renderFindings(out, result.findings, result.summary, result.files.length);
        return result.summary.error > 0 || (opts.strict && result.summary.warning > 0) ? 4 : 0;
      }),
    );

  config
    .command('rules')
    .description('the rule catalogue of `rqctl config validate`')
    .action(
      action(async ({ out }) => {
        const { RULES } = await import('../../deploy/rules/index.js');
        const rules = RULES.map((r) => ({ id: r.id, severity: r.severity, description: r.description, ...(r.rationale ? { rationale: r.rationale } : {}) }));
        out.result({ rules }, () =>
          out.line(
            out.table(
              ['rule', 'severity', 'finds'],
              rules.map((r) => [r.id, r.severity, r.description]),
            ),
          ),
        );
      }),
    );
}

function version(): string {
  return (createRequire(import.meta.url)('../../../package.json') as { version: string }).version;
}

function renderFindings(out: Output, findings: Finding[], summary: Summary, fileCount: number): void {
  const sev = (s: Finding['severity']) => (s === 'error' ? out.c.red('error  ') : s === 'warning' ? out.c.yellow('warning') : out.c.cyan('info   '));
  const byFile = new Map<string, Finding[]>();
  for (const f of findings) byFile.set(f.file, [...(byFile.get(f.file) ?? []), f]);
  for (const [file, list] of byFile) {
    out.line(out.c.bold(file));
    const lw = Math.max(...list.map((f) => String(f.line).length));
    const rw = Math.max(...list.map((f) => f.rule.length));
    for (const f of list) {
      out.line(`  ${String(f.line).padStart(lw)}  ${sev(f.severity)}  ${f.rule.padEnd(rw)}  ${f.message}${f.path ? out.c.dim(`  [${f.path}]`) : ''}`);
      out.line(`  ${' '.repeat(lw)}  ${' '.repeat(7)}  ${' '.repeat(rw)}  ${out.c.dim(`fix: ${f.fix}`)}`);
    }
    out.line();
  }
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
  out.line(`${plural(summary.error, 'error')}, ${plural(summary.warning, 'warning')}, ${summary.info} info in ${plural(fileCount, 'file')}`);
}
