import type { Command } from 'commander';
import { action, durationOption, intOption } from '../context.js';
import type { DeployResult } from '../../deploy/apply/deploy.js';
import type { DeployOptions } from '../../deploy/apply/plan.js';

interface DeployFlags {
  file?: string[];
  supervisorFile?: string;
  projectName?: string;
  dryRun?: boolean;
  check?: boolean;
  build: boolean;
  force?: boolean;
  timeout: number;
  logLines: number;
}

/** Commands of the "deploy" group. Keep this file light: import core modules inside the actions. */
export function register(program: Command): void {
  const cmd = program.command('deploy');
  cmd
    .description('validate, build, start and verify the stack on a Docker host (DOCKER_HOST unix:// or ssh://), for CI')
    .option(
      '-f, --file <file>',
      'compose file; repeat to add overrides, as with compose -f (default: docker-compose.prod.yml)',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option('--supervisor-file <file>', 'supervisord file to validate and expect (default: supervisord.prod.conf beside the compose file)')
    .option('-p, --project-name <name>', 'compose project name (default: COMPOSE_PROJECT_NAME, else the compose file’s directory name)')
    .option('--dry-run', 'print the plan; contact nothing, change nothing')
    .option('--check', 'validate only (a CI gate): exit 4 on any error finding')
    .option('--no-build', 'skip the build step (use the images already on the host)')
    .option('--force', 'deploy even when validation finds errors')
    .addOption(
      cmd
        .createOption('--timeout <duration>', 'how long verification waits for running, healthy services and RUNNING processes')
        .argParser(durationOption('--timeout', { min: 1000 }))
        .default(180_000, '180s'),
    )
    .option('--log-lines <n>', 'log lines shown per failing container', intOption('--log-lines', 1, 10_000), 40)
    .addHelpText(
      'after',
      '\nSteps: validate → build → up (-d --remove-orphans) → verify. Exit codes: 0 deployed and verified; 2 bad flags or a missing file;\n3 no Docker engine reachable (or no compose); 4 validation errors, a failed build or up, or a failed verification.\n',
    )
    .action(
      action(async ({ out, globals, config }, flags: DeployFlags) => {
        const { resolveDockerEnvironment } = await import('../../config/docker.js');
        const docker = resolveDockerEnvironment();
        // docker-modem formats ssh:// addresses through the legacy url.parse, which makes Node print a
        // DEP0170 warning on every request: noise in a CI log, and nothing the operator can fix.
        if (docker.host?.startsWith('ssh://')) process.noDeprecation = true;
        const options: DeployOptions = {
          files: flags.file ?? [],
          supervisorFile: flags.supervisorFile,
          projectName: flags.projectName,
          envFile: globals.envFile,
          check: flags.check,
          build: flags.build,
          force: flags.force,
          timeoutMs: flags.timeout,
          logLines: flags.logLines,
          cwd: process.cwd(),
          docker,
          // Only a stack that mounts rqctl's aclfiles needs the configuration (REDIS_ACL_*_PASSWORD, prefixes).
          aclSettings: async () => (await import('../../deploy/acl/aclfiles.js')).aclSettingsFrom(await config()),
        };
        const render = await import('../render/deploy.js');
        if (flags.dryRun) {
          const { deployPlan } = await import('../../deploy/apply/plan.js');
          render.printPlan(out, deployPlan(options));
          return 0;
        }
        const { deploy } = await import('../../deploy/apply/deploy.js');
        const reporter = await render.stepReporter(out);
        let result: DeployResult;
        try {
          result = await deploy(options, reporter.onEvent);
        } finally {
          reporter.stop();
        }
        render.printDeployResult(out, result, !!flags.check);
        return result.exitCode;
      }),
    );
}
