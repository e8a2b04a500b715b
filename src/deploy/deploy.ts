import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import type Docker from 'dockerode';
import { ExitCode, RqctlError, usageError } from '../errors.js';
import type { DockerEnvironment } from '../config/docker.js';
import { deploymentEnvironment } from '../config/environment.js';
import { composeCommandLine, composeServices, detectCompose, projectNameFor, runCompose, type ComposeCli, type ComposeInvocation } from './compose.js';
import { connectEngine, engineDisplay } from './engine.js';
import { supervisorPrograms, type SupervisorProgram } from './supervisor.js';
import { summarize, validateDeployFiles, type Finding, type Severity } from './validation.js';
import { failingNow, verifyStack, type DoctorCheck, type FailingContainer, type ProcessCheck, type ServiceCheck } from './verify.js';

/**
 * `rqctl deploy` (docs/deployment.md): validate → build → up → verify, each step timed and reported through
 * events; the result is a plain document the CLI renders (or prints as JSON). Nothing here prints.
 */

export type StepName = 'validate' | 'build' | 'up' | 'verify';
export type StepStatus = 'ok' | 'warn' | 'failed' | 'skipped';

export interface DeployOptions {
  /** Compose files, in compose's `-f` order (later files override earlier ones). */
  files: string[];
  /** The supervisord file; default `supervisord.prod.conf` beside the first compose file. */
  supervisorFile?: string;
  projectName?: string;
  /** A dotenv file for compose's interpolation (the global --env-file). */
  envFile?: string;
  check?: boolean;
  build?: boolean;
  force?: boolean;
  /** How long verification may wait for the stack to be running and healthy. */
  timeoutMs: number;
  cwd: string;
  docker: DockerEnvironment;
  /** Failing containers' log lines to keep. */
  logLines?: number;
}

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
  summary: Record<Severity, number>;
  services: ServiceCheck[];
  processes: ProcessCheck[];
  doctor?: DoctorCheck;
  problems: string[];
  failing: FailingContainer[];
  durationMs: number;
}

export interface PlanStep {
  name: StepName;
  description: string;
  command?: string;
}

export interface DeployPlan {
  project: string;
  files: string[];
  supervisorFile: string | null;
  engine: string;
  steps: PlanStep[];
  /** Things the plan noticed without contacting anything (a missing file). */
  notes: string[];
}

interface Resolved {
  files: string[];
  supervisorFile: string;
  supervisorExplicit: boolean;
  project: string;
}

function resolveInputs(options: DeployOptions): Resolved {
  const files = (options.files.length ? options.files : ['docker-compose.prod.yml']).map((f) => resolve(options.cwd, f));
  const supervisorExplicit = options.supervisorFile !== undefined;
  const supervisorFile = resolve(options.cwd, options.supervisorFile ?? join(dirname(files[0]), 'supervisord.prod.conf'));
  const project = projectNameFor(files, options.projectName, options.docker.composeProjectName);
  return { files, supervisorFile, supervisorExplicit, project };
}

function shown(cwd: string, path: string): string {
  const r = relative(cwd, path);
  return r && !r.startsWith('..') ? r : path;
}

/** What a deploy would do, from the options alone: no engine, no compose, no network. */
export function deployPlan(options: DeployOptions): DeployPlan {
  const r = resolveInputs(options);
  const files = r.files.map((f) => shown(options.cwd, f));
  const sup = shown(options.cwd, r.supervisorFile);
  const inv = { display: 'docker compose', files, project: r.project, envFile: options.envFile };
  const notes: string[] = [];
  for (const f of r.files) if (!existsSync(f)) notes.push(`${shown(options.cwd, f)} does not exist`);
  if (!existsSync(r.supervisorFile)) notes.push(`${sup} does not exist${r.supervisorExplicit ? '' : ' (validation will warn)'}`);
  const steps: PlanStep[] = [
    { name: 'validate', description: `validate ${[...files, sup].join(', ')}; stop on errors${options.force ? ' (--force: continue anyway)' : ''}` },
  ];
  if (!options.check) {
    if (options.build !== false) steps.push({ name: 'build', description: 'build the images', command: composeCommandLine(inv, ['build']) });
    steps.push({
      name: 'up',
      description: 'create or update the containers, remove orphans',
      command: composeCommandLine(inv, ['up', '-d', '--remove-orphans', ...(options.build === false ? ['--no-build'] : [])]),
    });
    steps.push({
      name: 'verify',
      description: `within ${Math.round(options.timeoutMs / 1000)}s: every service running and healthy; in the app container every rqctl-worker and rqctl-scheduler RUNNING (supervisorctl status); rqctl doctor passes`,
    });
  }
  return { project: r.project, files, supervisorFile: sup, engine: engineDisplay(options.docker), steps, notes };
}

export async function deploy(options: DeployOptions, emit: (e: DeployEvent) => void = () => {}): Promise<DeployResult> {
  const started = Date.now();
  const r = resolveInputs(options);
  const result: DeployResult = {
    ok: false,
    exitCode: ExitCode.checkFailed,
    project: r.project,
    files: r.files.map((f) => shown(options.cwd, f)),
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
  const finish = (ok: boolean): DeployResult => {
    result.ok = ok;
    result.exitCode = ok ? ExitCode.ok : ExitCode.checkFailed;
    result.durationMs = Date.now() - started;
    return result;
  };
  const step = async (name: StepName, description: string, body: () => Promise<{ status: StepStatus; message: string }>): Promise<StepStatus> => {
    emit({ type: 'step-start', step: name, description });
    const t0 = Date.now();
    let outcome: { status: StepStatus; message: string };
    try {
      outcome = await body();
    } catch (e) {
      const durationMs = Date.now() - t0;
      const message = e instanceof RqctlError ? e.message : `${(e as Error)?.message ?? e}`;
      result.steps.push({ name, status: 'failed', durationMs, message });
      emit({ type: 'step-end', step: name, status: 'failed', durationMs, message });
      throw e;
    }
    const durationMs = Date.now() - t0;
    result.steps.push({ name, status: outcome.status, durationMs, message: outcome.message });
    emit({ type: 'step-end', step: name, status: outcome.status, durationMs, message: outcome.message });
    return outcome.status;
  };

  for (const f of r.files) {
    if (!existsSync(f))
      throw usageError(
        `compose file ${shown(options.cwd, f)} does not exist`,
        'give it with --file (default: docker-compose.prod.yml in the working directory)',
      );
  }
  if (r.supervisorExplicit && !existsSync(r.supervisorFile)) {
    throw usageError(`supervisord file ${shown(options.cwd, r.supervisorFile)} does not exist`, 'check the --supervisor-file path');
  }
  // What compose interpolates with: the environment over the --env-file file.
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(deploymentEnvironment({ envFile: options.envFile, cwd: options.cwd, env: options.docker.processEnv })))
    if (v !== undefined) env[k] = v;

  // The engine and the compose command first: without them nothing can be deployed, and an operator
  // whose DOCKER_HOST is wrong should read exactly that, in one line (exit 3), not a validation report.
  let docker: Docker | undefined;
  let cli: ComposeCli | undefined;
  if (!options.check) {
    docker = await connectEngine(options.docker);
    cli = await detectCompose(env, options.cwd);
    result.compose = { command: cli.display, version: cli.version };
  }

  // 1. validate
  let programs: SupervisorProgram[] | undefined;
  const validateStatus = await step('validate', 'validating the deployment files', async () => {
    // The first compose file is the production file. Later -f files are overrides that compose merges
    // over it; judged alone they would be half a service each (no image, no limits), so they are
    // listed, not validated. `rqctl config validate` still reads any file it is given.
    const paths = [r.files[0]];
    for (const f of r.files.slice(1)) {
      result.findings.push({
        rule: 'deploy-override',
        severity: 'info',
        file: shown(options.cwd, f),
        message: `${shown(options.cwd, f)} is merged over ${shown(options.cwd, r.files[0])} by compose; it is not validated on its own`,
        fix: 'keep production settings in the first compose file; check an override with `rqctl config validate` if it stands alone',
      });
    }
    if (existsSync(r.supervisorFile)) {
      paths.push(r.supervisorFile);
      result.supervisorFile = shown(options.cwd, r.supervisorFile);
      programs = supervisorPrograms(readFileSync(r.supervisorFile, 'utf8'));
    } else {
      const message = `${shown(options.cwd, r.supervisorFile)} not found: the supervisord configuration is not validated`;
      result.findings.push({
        rule: 'deploy-supervisor-file',
        severity: 'warning',
        file: shown(options.cwd, r.supervisorFile),
        message,
        fix: 'pass --supervisor-file, or generate it with `rqctl config generate`',
      });
      emit({ type: 'warning', step: 'validate', message });
    }
    const report = await validateDeployFiles(paths, { cwd: dirname(r.files[0]), env });
    result.findings.push(...report.findings.map((f) => ({ ...f, file: shown(options.cwd, resolve(dirname(r.files[0]), f.file)) })));
    result.summary = summarize(result.findings);
    const { error, warning, info } = result.summary;
    const message = `${error} error${error === 1 ? '' : 's'}, ${warning} warning${warning === 1 ? '' : 's'}, ${info} info`;
    if (error > 0) return { status: 'failed', message: options.force && !options.check ? `${message} (--force: continuing)` : message };
    return { status: warning > 0 ? 'warn' : 'ok', message };
  });
  if (validateStatus === 'failed' && (options.check || !options.force)) {
    result.problems.push(`validation found ${result.summary.error} error${result.summary.error === 1 ? '' : 's'}`);
    return finish(false);
  }
  if (options.check || !docker || !cli) return finish(true);

  const inv: ComposeInvocation = {
    cli,
    files: r.files,
    project: r.project,
    envFile: options.envFile ? resolve(options.cwd, options.envFile) : undefined,
    cwd: dirname(r.files[0]),
    env,
  };

  // 2. build
  if (options.build !== false) {
    const status = await step('build', composeCommandLine({ ...inv, display: cli.display, files: result.files }, ['build']), async () => {
      const run = await runCompose(inv, ['build'], (line) => emit({ type: 'output', step: 'build', line }));
      if (run.exitCode !== 0) {
        result.problems.push(`${cli.display} build exited ${run.exitCode}`, ...run.tail.slice(-10));
        return { status: 'failed', message: `${cli.display} build exited ${run.exitCode}` };
      }
      return { status: 'ok', message: 'images built' };
    });
    if (status === 'failed') return finish(false);
  } else {
    result.steps.push({ name: 'build', status: 'skipped', durationMs: 0, message: '--no-build' });
    emit({ type: 'step-end', step: 'build', status: 'skipped', durationMs: 0, message: '--no-build' });
  }

  // 3. up
  const upArgs = ['up', '-d', '--remove-orphans', ...(options.build === false ? ['--no-build'] : [])];
  let services: Awaited<ReturnType<typeof composeServices>> = [];
  const upStatus = await step('up', composeCommandLine({ ...inv, display: cli.display, files: result.files }, upArgs), async () => {
    try {
      services = await composeServices(inv);
    } catch (e) {
      // Compose refuses the merged configuration (a required variable unset, an invalid override).
      if (!(e instanceof RqctlError)) throw e;
      result.problems.push(e.message);
      return { status: 'failed', message: e.message };
    }
    const run = await runCompose(inv, upArgs, (line) => emit({ type: 'output', step: 'up', line }));
    if (run.exitCode !== 0) {
      result.problems.push(`${cli.display} up exited ${run.exitCode}`, ...run.tail.slice(-10));
      // "Container … is unhealthy" says little: the container's own logs say why.
      result.failing = await failingNow(docker, r.project, services, options.logLines).catch(() => []);
      return { status: 'failed', message: `${cli.display} up exited ${run.exitCode}` };
    }
    return { status: 'ok', message: `${services.length} service${services.length === 1 ? '' : 's'} started` };
  });
  if (upStatus === 'failed') return finish(false);

  // 4. verify
  const verifyStatus = await step('verify', 'waiting for the stack to be running and healthy', async () => {
    const report = await verifyStack(docker, {
      project: r.project,
      services,
      programs,
      timeoutMs: options.timeoutMs,
      logLines: options.logLines,
      progress: (message) => emit({ type: 'progress', step: 'verify', message }),
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
  return finish(verifyStatus !== 'failed');
}
