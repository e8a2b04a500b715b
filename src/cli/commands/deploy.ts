import type { Command } from 'commander';
import { action, durationOption, intOption } from '../context.js';
import type { Output } from '../render.js';
import type { DeployEvent, DeployPlan, DeployResult, StepStatus } from '../../deploy/deploy.js';
import type { Finding } from '../../deploy/validation.js';

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
        .argParser(durationOption('--timeout'))
        .default(180_000, '180s'),
    )
    .option('--log-lines <n>', 'log lines shown per failing container', intOption('--log-lines', 1, 10_000), 40)
    .addHelpText(
      'after',
      '\nSteps: validate → build → up (-d --remove-orphans) → verify. Exit codes: 0 deployed and verified; 2 bad flags or a missing file;\n3 no Docker engine reachable (or no compose); 4 validation errors, a failed build or up, or a failed verification.\n',
    )
    .action(
      action(async ({ out, globals }, flags: DeployFlags) => {
        const { resolveDockerEnvironment } = await import('../../config/docker.js');
        const core = await import('../../deploy/deploy.js');
        const docker = resolveDockerEnvironment();
        // docker-modem formats ssh:// addresses through the legacy url.parse, which makes Node print a
        // DEP0170 warning on every request: noise in a CI log, and nothing the operator can fix.
        if (docker.host?.startsWith('ssh://')) process.noDeprecation = true;
        const options = {
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
        };
        if (flags.dryRun) {
          const plan = core.deployPlan(options);
          out.result({ dryRun: true, ...plan }, () => renderPlan(out, plan));
          for (const n of plan.notes) out.warn(n);
          return 0;
        }
        const reporter = await stepReporter(out);
        let result: DeployResult;
        try {
          result = await core.deploy(options, reporter.onEvent);
        } finally {
          reporter.stop();
        }
        out.result(result, () => renderResult(out, result, !!flags.check));
        return result.exitCode;
      }),
    );
}

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.round(ms / 1000)}s`;
}

/**
 * Step progress on stderr: a spinner per step on a terminal, plain lines elsewhere (CI logs), where
 * the compose output is passed through so the build log is there when a build fails.
 */
async function stepReporter(out: Output): Promise<{ onEvent: (e: DeployEvent) => void; stop: () => void }> {
  // ora is loaded only on a terminal, so CI never pays for it. A pseudo-terminal without a size
  // (some CI runners, `script`) reports 0 columns, on which ora's line clearing never ends.
  const spin = out.stderrIsTTY && (process.stderr.columns ?? 0) > 0 && !out.json && !out.quiet;
  const ora = spin ? (await import('ora')).default : undefined;
  let spinner: import('ora').Ora | undefined;
  // Plain lines: each progress message once per step (verification polls repeat them every second).
  let shownProgress = new Set<string>();
  const mark = (s: StepStatus) => (s === 'ok' ? out.c.green('✓') : s === 'warn' ? out.c.yellow('!') : s === 'failed' ? out.c.red('✗') : out.c.dim('-'));
  const word = (s: StepStatus) =>
    s === 'ok' ? out.c.green('ok') : s === 'warn' ? out.c.yellow('ok') : s === 'failed' ? out.c.red('failed') : out.c.dim('skipped');

  const onEvent = (e: DeployEvent) => {
    if (e.type === 'step-start') {
      shownProgress = new Set();
      if (ora) {
        spinner = ora({ text: `${e.step}  ${out.c.dim(e.description)}`, stream: process.stderr, discardStdin: false }).start();
      } else out.info(`${e.step}: ${e.description}`);
      return;
    }
    if (e.type === 'step-end') {
      const line = `${mark(e.status)} ${e.step.padEnd(8)} ${word(e.status)}  ${seconds(e.durationMs)}  ${e.message}`;
      if (spinner) {
        spinner.stopAndPersist({ symbol: mark(e.status), text: `${e.step.padEnd(8)} ${seconds(e.durationMs).padStart(5)}  ${e.message}` });
        spinner = undefined;
      } else if (e.status === 'failed') process.stderr.write(`${line}\n`);
      else out.info(line);
      return;
    }
    if (e.type === 'warning') {
      if (spinner) spinner.clear();
      out.warn(e.message);
      if (spinner) spinner.render();
      return;
    }
    if (e.type === 'output') {
      if (spinner) {
        spinner.text = `${e.step}  ${out.c.dim(e.line.slice(0, Math.max(20, (process.stderr.columns ?? 100) - 20)))}`;
        if (out.verbose) {
          spinner.clear();
          process.stderr.write(`  ${e.line}\n`);
          spinner.render();
        }
      } else out.info(`  ${e.line}`);
      return;
    }
    if (e.type === 'progress') {
      if (spinner) spinner.text = `${e.step}  ${out.c.dim(e.message)}`;
      else if (!shownProgress.has(e.message)) {
        shownProgress.add(e.message);
        out.info(`  ${e.message}`);
      }
    }
  };
  return {
    onEvent,
    stop: () => {
      if (spinner) spinner.stop();
      spinner = undefined;
    },
  };
}

function renderPlan(out: Output, plan: DeployPlan): void {
  out.line(`deploy plan: project ${plan.project}, engine ${plan.engine}`);
  plan.steps.forEach((s, i) => {
    out.line(`  ${i + 1}. ${s.name.padEnd(8)} ${s.description}`);
    if (s.command) out.line(`     ${''.padEnd(8)} ${out.c.dim(s.command)}`);
  });
  out.line(out.c.dim('dry run: nothing was contacted or changed'));
}

function renderFindings(out: Output, findings: Finding[]): void {
  if (!findings.length) return;
  const sev = (s: Finding['severity']) => (s === 'error' ? out.c.red('error') : s === 'warning' ? out.c.yellow('warning') : out.c.dim('info'));
  out.line(
    out.table(
      ['severity', 'rule', 'where', 'message'],
      findings.map((f) => [sev(f.severity), f.rule, `${f.file}${f.line ? `:${f.line}` : ''}`, `${f.message}${f.fix ? `\n${out.c.dim(`fix: ${f.fix}`)}` : ''}`]),
    ),
  );
}

function renderResult(out: Output, r: DeployResult, check: boolean): void {
  renderFindings(
    out,
    r.findings.filter((f) => f.severity !== 'info' || out.verbose),
  );
  if (check) {
    out.line(`${r.ok ? out.c.green('valid') : out.c.red('invalid')}: ${r.summary.error} errors, ${r.summary.warning} warnings, ${r.summary.info} info`);
    return;
  }
  if (r.services.length) {
    out.line(
      out.table(
        ['service', 'container', 'state', 'health', ''],
        r.services.map((s) => [s.service, s.container, s.state, s.health, s.ok ? out.c.green('ok') : out.c.red(s.reason ?? 'not ready')]),
      ),
    );
  }
  if (r.processes.length) {
    out.line(
      out.table(
        ['process', 'state'],
        r.processes.map((p) => [p.name, p.ok ? out.c.green(p.state) : out.c.red(p.state)]),
      ),
    );
  }
  if (r.doctor && !r.doctor.ok) {
    for (const c of r.doctor.checks.filter((x) => x.status !== 'ok'))
      out.line(`doctor ${out.status(c.status as 'warn' | 'fail')}  ${c.message}${c.fix ? `  ${out.c.dim(`fix: ${c.fix}`)}` : ''}`);
  }
  for (const f of r.failing) {
    out.line(`\n${out.c.red('✗')} ${out.c.bold(f.container)} (${f.service}): ${f.reason}`);
    out.line(out.c.dim(`--- last ${f.logs.length} log lines of ${f.container} ---`));
    for (const l of f.logs) out.line(`  ${l}`);
  }
  if (r.ok)
    out.line(`${out.c.green('deployed')} ${r.project} in ${seconds(r.durationMs)}: ${r.steps.map((s) => `${s.name} ${seconds(s.durationMs)}`).join(', ')}`);
  else {
    const failedStep = r.steps.find((s) => s.status === 'failed');
    out.line(`${out.c.red('deploy failed')}${failedStep ? ` at ${failedStep.name}` : ''}: ${r.problems[0] ?? failedStep?.message ?? 'see above'}`);
    for (const p of r.problems.slice(1, 12)) out.line(`  ${p}`);
  }
}
