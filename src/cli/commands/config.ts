import type { Command } from 'commander';
import { action, intOption } from '../context.js';
import { usageError } from '../../errors.js';

interface GenerateFlags {
  out: string;
  topology: string;
  workers: number;
  concurrency: number;
  force?: boolean;
  acl?: boolean;
}

interface AclFlags {
  topology: string;
  out: string;
}

interface ValidateFlags {
  format?: string;
  strict?: boolean;
}

/** Commands of the "config" group. Keep this file light: import core modules and renderers inside the actions. */
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
    .option('--acl', 'ACL users (default off, rqctl-worker, app, operator, healthcheck) instead of one password; see `rqctl config acl`')
    .action(
      action(async ({ out }, flags: GenerateFlags) => {
        const topology = flags.topology;
        if (topology !== 'split' && topology !== 'single') throw usageError(`--topology must be split or single (got "${topology}")`);
        const { generateInto } = await import('../../deploy/generate/generate.js');
        const report = generateInto(flags.out, { topology, workers: flags.workers, concurrency: flags.concurrency, acl: !!flags.acl }, { force: flags.force });
        const { printGenerated } = await import('../render/config.js');
        printGenerated(out, report, !!flags.acl);
      }),
    );

  config
    .command('acl')
    .description('write the ACL users of the stack (users-queue.acl + users-cache.acl, or users.acl) from REDIS_ACL_*_PASSWORD, hashed, mode 0600')
    .option('--topology <topology>', 'split (an aclfile per Redis server) or single (one server)', 'split')
    .option('--out <dir>', 'output folder', 'docker')
    .action(
      action(async ({ out, config: load }, flags: AclFlags) => {
        const topology = flags.topology;
        if (topology !== 'split' && topology !== 'single') throw usageError(`--topology must be split or single (got "${topology}")`);
        const { aclSettingsFrom, writeAclFiles } = await import('../../deploy/acl/aclfiles.js');
        const report = writeAclFiles(flags.out, topology, aclSettingsFrom(await load()));
        const { printAclFiles } = await import('../render/config.js');
        printAclFiles(out, report);
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
      action(async ({ out, globals }, files: string[], flags: ValidateFlags) => {
        const format = flags.format ?? (globals.json ? 'json' : 'table');
        if (format !== 'table' && format !== 'json' && format !== 'sarif') throw usageError(`--format must be table, json or sarif (got "${format}")`);
        const { validateProject } = await import('../../deploy/validate/index.js');
        const { deploymentEnvironment } = await import('../../config/environment.js');
        const cwd = process.cwd();
        const result = await validateProject(files, { cwd, env: deploymentEnvironment({ envFile: globals.envFile, cwd }) });
        const { printValidation } = await import('../render/config.js');
        await printValidation(out, result, format);
        return result.summary.error > 0 || (flags.strict && result.summary.warning > 0) ? 4 : 0;
      }),
    );

  config
    .command('rules')
    .description('the rule catalogue of `rqctl config validate`')
    .action(
      action(async ({ out }) => {
        const { ruleCatalogue } = await import('../../deploy/validate/rules/index.js');
        const { printRules } = await import('../render/config.js');
        printRules(out, ruleCatalogue());
      }),
    );
}
