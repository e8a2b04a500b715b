import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type Docker from 'dockerode';
import { ExitCode, RqctlError, usageError } from '../../errors.js';
import { deploymentEnvironment } from '../../config/environment.js';
import { summarize, type Finding, type Summary } from '../validate/finding.js';
import { validateFiles } from '../validate/index.js';
import { displayName } from '../validate/model.js';
import { declaredPrograms, type DeclaredProgram } from '../validate/supervisord.js';
import { composeCommandLine, detectCompose, mergedServices, runCompose, type ComposeCli, type ComposeInvocation, type MergedService } from './compose-cli.js';
import { connectEngine, engineDisplay, plainTcpWarning } from './engine.js';
import { renderAclFiles, writeAclFile } from '../acl/aclfiles.js';
import { aclServerOfFile, type AclServer } from '../../redis/acl/users.js';
import { resolveDeployInputs, type DeployInputs, type DeployOptions, type StepName } from './plan.js';
import { failingNow, verifyStack, type DoctorCheck, type FailingContainer, type ProcessCheck, type ServiceCheck } from './verify.js';

/**
 * `rqctl deploy` (docs/deployment.md): validate → build → up → verify, each step timed and reported through
 * events; the result is a plain document the CLI renders (or prints as JSON). Nothing here prints.
 */

export type StepStatus = 'ok' | 'warn' | 'failed' | 'skipped';

export type DeployEvent =
  | { type: 'step-start'; step: StepName; description: string }
  | { type: 'step-end'; step: StepName; status: StepStatus; durationMs: number; message: string }
  | { type: 'progress'; step: StepName; message: string }
  | { type: 'output'; step: StepName; line: string }
  | { type: 'warning'; step: StepName; message: string };

export interface StepReport {
  name: StepName;
  status: StepStatus;
  durationMs: number;
  message: string;
}

export interface DeployResult {
  ok: boolean;
  exitCode: number;
  project: string;
  files: string[];
  supervisorFile: string | null;
  engine: string;
  compose?: { command: string; version: string };
  steps: StepReport[];
  findings: Finding[];
  summary: Summary;
  services: ServiceCheck[];
  processes: ProcessCheck[];
  doctor?: DoctorCheck;
  problems: string[];
  failing: FailingContainer[];
  durationMs: number;
}

type StepOutcome = { status: StepStatus; message: string };

/** One deploy under way: the result document its steps fill in, and the events they emit. */
class DeployRun {
  readonly result: DeployResult;
  private readonly started = Date.now();

  constructor(
    readonly options: DeployOptions,
    readonly inputs: DeployInputs,
    readonly emit: (e: DeployEvent) => void,
  ) {
    this.result = {
      ok: false,
      exitCode: ExitCode.checkFailed,
      project: inputs.project,
      files: inputs.files.map((f) => this.shown(f)),
      supervisorFile: null,
      engine: engineDisplay(options.docker),
      steps: [],
      findings: [],
      summary: { error: 0, warning: 0, info: 0 },
      services: [],
      processes: [],
      problems: [],
      failing: [],
      durationMs: 0,
    };
  }

  /** A path as findings and messages show it: relative to the working directory when inside it. */
  shown(path: string): string {
    return displayName(path, this.options.cwd);
  }

  finish(ok: boolean): DeployResult {
    this.result.ok = ok;
    this.result.exitCode = ok ? ExitCode.ok : ExitCode.checkFailed;
    this.result.durationMs = Date.now() - this.started;
    return this.result;
  }

  /** Runs one step, timed; a step that throws is reported as failed before the error goes on. */
  async step(name: StepName, description: string, body: () => Promise<StepOutcome>): Promise<StepStatus> {
    this.emit({ type: 'step-start', step: name, description });
    const t0 = Date.now();
    let outcome: StepOutcome;
    try {
      outcome = await body();
    } catch (e) {
      const message = e instanceof RqctlError ? e.message : `${(e as Error)?.message ?? e}`;
      this.report(name, { status: 'failed', message }, Date.now() - t0);
      throw e;
    }
    this.report(name, outcome, Date.now() - t0);
    return outcome.status;
  }

  skip(name: StepName, message: string): void {
    this.report(name, { status: 'skipped', message }, 0);
  }

  private report(name: StepName, outcome: StepOutcome, durationMs: number): void {
    this.result.steps.push({ name, status: outcome.status, durationMs, message: outcome.message });
    this.emit({ type: 'step-end', step: name, status: outcome.status, durationMs, message: outcome.message });
  }
}

export async function deploy(options: DeployOptions, emit: (e: DeployEvent) => void = () => {}): Promise<DeployResult> {
  const run = new DeployRun(options, resolveDeployInputs(options), emit);
  requireFiles(run);
  const env = composeEnvironment(options);

  // The engine and the compose command first: without them nothing can be deployed, and an operator
  // whose DOCKER_HOST is wrong should read exactly that, in one line (exit 3), not a validation report.
  let target: { docker: Docker; cli: ComposeCli } | undefined;
  if (!options.check) {
    const docker = await connectEngine(options.docker);
    const clearText = plainTcpWarning(options.docker);
    if (clearText) emit({ type: 'warning', step: 'up', message: clearText });
    const cli = await detectCompose(env, options.cwd);
    run.result.compose = { command: cli.display, version: cli.version };
    target = { docker, cli };
  }

  const validated = await validateStep(run, env);
  if (validated.status === 'failed' && (options.check || !options.force)) {
    run.result.problems.push(`validation found ${run.result.summary.error} error${run.result.summary.error === 1 ? '' : 's'}`);
    return run.finish(false);
  }
  if (options.check || !target) return run.finish(true);

  const inv: ComposeInvocation = {
    cli: target.cli,
    files: run.inputs.files,
    project: run.inputs.project,
    envFile: options.envFile ? resolve(options.cwd, options.envFile) : undefined,
    cwd: dirname(run.inputs.files[0]),
    env,
  };
  if (options.build === false) run.skip('build', '--no-build');
  else if ((await buildStep(run, inv)) === 'failed') return run.finish(false);
  const services = await upStep(run, inv, target.docker);
  if (!services) return run.finish(false);
  return run.finish((await verifyStep(run, target.docker, services, validated.programs)) !== 'failed');
}

/** Bad paths are usage errors (exit 2) before anything is contacted. */
function requireFiles(run: DeployRun): void {
  for (const f of run.inputs.files) {
    if (!existsSync(f))
      throw usageError(`compose file ${run.shown(f)} does not exist`, 'give it with --file (default: docker-compose.prod.yml in the working directory)');
  }
  if (run.inputs.supervisorExplicit && !existsSync(run.inputs.supervisorFile)) {
    throw usageError(`supervisord file ${run.shown(run.inputs.supervisorFile)} does not exist`, 'check the --supervisor-file path');
  }
}

/** What compose interpolates with: the environment over the --env-file file. */
function composeEnvironment(options: DeployOptions): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(deploymentEnvironment({ envFile: options.envFile, cwd: options.cwd, env: options.docker.processEnv })))
    if (v !== undefined) env[k] = v;
  return env;
}

/**
 * Step 1: the rules of `rqctl config validate` on the first compose file and the supervisord file, so
 * a deploy never ships what `config validate` rejects; plus deploy's own findings about the files.
 */
async function validateStep(run: DeployRun, env: Record<string, string>): Promise<{ status: StepStatus; programs?: DeclaredProgram[] }> {
  const { options, inputs, result } = run;
  let programs: DeclaredProgram[] | undefined;
  const status = await run.step('validate', 'validating the deployment files', async () => {
    // The first compose file is the production file. Later -f files are overrides that compose merges
    // over it; judged alone they would be half a service each (no image, no limits), so they are
    // listed, not validated. `rqctl config validate` still reads any file it is given.
    const paths = [inputs.files[0]];
    for (const f of inputs.files.slice(1)) {
      result.findings.push(
        wholeFileFinding(
          'deploy-override',
          'info',
          run.shown(f),
          `${run.shown(f)} is merged over ${run.shown(inputs.files[0])} by compose; it is not validated on its own`,
          'keep production settings in the first compose file; check an override with `rqctl config validate` if it stands alone',
        ),
      );
    }
    if (existsSync(inputs.supervisorFile)) {
      paths.push(inputs.supervisorFile);
      result.supervisorFile = run.shown(inputs.supervisorFile);
      programs = declaredPrograms(readFileSync(inputs.supervisorFile, 'utf8'));
    } else {
      const message = `${run.shown(inputs.supervisorFile)} not found: the supervisord configuration is not validated`;
      result.findings.push(
        wholeFileFinding(
          'deploy-supervisor-file',
          'warning',
          run.shown(inputs.supervisorFile),
          message,
          'pass --supervisor-file, or generate it with `rqctl config generate`',
        ),
      );
      run.emit({ type: 'warning', step: 'validate', message });
    }
    const base = dirname(inputs.files[0]);
    const report = await validateFiles(paths, { cwd: base, env });
    result.findings.push(...report.findings.map((f) => ({ ...f, file: run.shown(resolve(base, f.file)) })));
    result.summary = summarize(result.findings);
    const { error, warning, info } = result.summary;
    const message = `${error} error${error === 1 ? '' : 's'}, ${warning} warning${warning === 1 ? '' : 's'}, ${info} info`;
    if (error > 0) return { status: 'failed', message: options.force && !options.check ? `${message} (--force: continuing)` : message };
    return { status: warning > 0 ? 'warn' : 'ok', message };
  });
  return { status, programs };
}

/** A finding about a file as a whole (it may not exist): no line or path to name. */
function wholeFileFinding(rule: string, severity: Finding['severity'], file: string, message: string, fix: string): Finding {
  return { rule, severity, file, line: 0, path: '', message, fix };
}

/** The compose command line a step runs, as the plan and the step report show it. */
function shownCommand(run: DeployRun, inv: ComposeInvocation, sub: string[]): string {
  return composeCommandLine({ ...inv, display: inv.cli.display, files: run.result.files }, sub);
}

/** Step 2: `compose build`. */
function buildStep(run: DeployRun, inv: ComposeInvocation): Promise<StepStatus> {
  const display = inv.cli.display;
  return run.step('build', shownCommand(run, inv, ['build']), async () => {
    const r = await runCompose(inv, ['build'], (line) => run.emit({ type: 'output', step: 'build', line }));
    if (r.exitCode !== 0) {
      run.result.problems.push(`${display} build exited ${r.exitCode}`, ...r.tail.slice(-10));
      return { status: 'failed', message: `${display} build exited ${r.exitCode}` };
    }
    return { status: 'ok', message: 'images built' };
  });
}

/** Step 3: `compose up -d --remove-orphans`. Returns the services it started, or undefined when it failed. */
async function upStep(run: DeployRun, inv: ComposeInvocation, docker: Docker): Promise<MergedService[] | undefined> {
  const { options, result } = run;
  const display = inv.cli.display;
  const upArgs = ['up', '-d', '--remove-orphans', ...(options.build === false ? ['--no-build'] : [])];
  let services: MergedService[] = [];
  const status = await run.step('up', shownCommand(run, inv, upArgs), async () => {
    try {
      services = await mergedServices(inv);
    } catch (e) {
      // Compose refuses the merged configuration (a required variable unset, an invalid override).
      if (!(e instanceof RqctlError)) throw e;
      result.problems.push(e.message);
      return { status: 'failed', message: e.message };
    }
    const reload = await writeStackAclFiles(run, services);
    const output = (line: string) => run.emit({ type: 'output', step: 'up', line });
    // compose recreates a container when its configuration changed, not when a file it mounts did:
    // Redis servers whose users changed restart first, so the app comes up against the new passwords.
    const restarted = reload.length ? await runCompose(inv, ['restart', ...reload], output) : undefined;
    const r = restarted && restarted.exitCode !== 0 ? restarted : await runCompose(inv, upArgs, output);
    if (r.exitCode !== 0) {
      const what = r === restarted ? `${display} restart ${reload.join(' ')} exited ${r.exitCode}` : `${display} up exited ${r.exitCode}`;
      result.problems.push(what, ...r.tail.slice(-10));
      // "Container … is unhealthy" says little: the container's own logs say why.
      result.failing = await failingNow(docker, run.inputs.project, services, options.logLines).catch(() => []);
      return { status: 'failed', message: what };
    }
    if (reload.length) run.emit({ type: 'progress', step: 'up', message: `restarted ${reload.join(', ')}: their ACL users changed` });
    return { status: 'ok', message: `${services.length} service${services.length === 1 ? '' : 's'} started` };
  });
  return status === 'failed' ? undefined : services;
}

/**
 * The aclfiles the stack mounts and rqctl writes (users-queue.acl, users-cache.acl, users.acl: docs/acl.md),
 * written again from the passwords in the environment before `up`: they are git-ignored, so a fresh
 * checkout has none, and a rotated password must reach them. Other .acl files are the operator's own.
 */
async function writeStackAclFiles(run: DeployRun, services: MergedService[]): Promise<string[]> {
  const mounted = new Map<string, { server: AclServer; services: string[] }>();
  for (const svc of services)
    for (const b of svc.binds) {
      const server = aclServerOfFile(basename(b.source));
      if (server) mounted.set(b.source, { server, services: [...(mounted.get(b.source)?.services ?? []), svc.name] });
    }
  if (!mounted.size) return [];
  if (!run.options.aclSettings) throw new RqctlError('ACL_SETTINGS', ExitCode.internal, 'the stack mounts aclfiles but deploy was given no ACL settings');
  const files = renderAclFiles([...new Set([...mounted.values()].map((m) => m.server))], await run.options.aclSettings());
  // Services whose aclfile had other users or passwords: Redis reads it when it starts.
  const reload: string[] = [];
  for (const [path, { server, services: users }] of mounted) {
    const existed = existsSync(path);
    const w = writeAclFile(
      path,
      files.find((f) => f.server === server)!,
    );
    if (existed && w.status === 'written') reload.push(...users);
    run.emit({
      type: 'progress',
      step: 'up',
      message: `${w.status === 'written' ? 'wrote' : 'unchanged'} ${run.shown(path)} (mode 0600): ${w.users.join(', ')}`,
    });
  }
  return [...new Set(reload)];
}

/** Step 4: running, healthy, every rqctl process RUNNING, doctor passing. */
function verifyStep(run: DeployRun, docker: Docker, services: MergedService[], programs: DeclaredProgram[] | undefined): Promise<StepStatus> {
  const { options, result } = run;
  return run.step('verify', 'waiting for the stack to be running and healthy', async () => {
    const report = await verifyStack(docker, {
      project: run.inputs.project,
      services,
      programs,
      timeoutMs: options.timeoutMs,
      logLines: options.logLines,
      progress: (message) => run.emit({ type: 'progress', step: 'verify', message }),
    });
    result.services = report.services;
    result.processes = report.processes;
    result.doctor = report.doctor;
    result.failing = report.failing;
    result.problems.push(...report.problems);
    const running = report.processes.filter((p) => p.ok).length;
    if (!report.ok) return { status: 'failed', message: report.problems[0] ?? 'verification failed' };
    return {
      status: 'ok',
      message: `${report.services.length} container${report.services.length === 1 ? '' : 's'} running, ${running} rqctl process${running === 1 ? '' : 'es'} RUNNING, doctor ${report.doctor ? 'passed' : 'not run'}`,
    };
  });
}
