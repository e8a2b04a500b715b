import type { Output } from '../render.js';
import type { DeployEvent, DeployResult, StepStatus } from '../../deploy/apply/deploy.js';
import type { DeployPlan } from '../../deploy/apply/plan.js';
import type { Finding } from '../../deploy/validate/finding.js';

/** How `rqctl deploy` reports: step progress on stderr while it runs, then the plan or the result. */

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.round(ms / 1000)}s`;
}

/**
 * Step progress on stderr: a spinner per step on a terminal, plain lines elsewhere (CI logs), where
 * the compose output is passed through so the build log is there when a build fails.
 */
export async function stepReporter(out: Output): Promise<{ onEvent: (e: DeployEvent) => void; stop: () => void }> {
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

/** `--dry-run`: the plan on stdout, what it noticed (a missing file) on stderr. */
export function printPlan(out: Output, plan: DeployPlan): void {
  out.result({ dryRun: true, ...plan }, () => {
    out.line(`deploy plan: project ${plan.project}, engine ${plan.engine}`);
    plan.steps.forEach((s, i) => {
      out.line(`  ${i + 1}. ${s.name.padEnd(8)} ${s.description}`);
      if (s.command) out.line(`     ${''.padEnd(8)} ${out.c.dim(s.command)}`);
    });
    out.line(out.c.dim('dry run: nothing was contacted or changed'));
  });
  for (const n of plan.notes) out.warn(n);
}

export function printDeployResult(out: Output, result: DeployResult, check: boolean): void {
  out.result(result, () => renderResult(out, result, check));
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
