import type Docker from 'dockerode';
import { containerLogTail, execIn, projectContainers } from './engine.js';
import type { MergedService } from './compose-cli.js';
import type { DeclaredProgram } from '../validate/supervisord.js';
import { judgeProcesses, parseSupervisorStatus, runsSupervisord, supervisordConfigFrom } from './supervisorctl.js';

/**
 * Step 4 of a deploy: the stack is up when every service's containers run (and are healthy where
 * they have a healthcheck), the app container's supervisord runs every rqctl worker and scheduler
 * process, and `rqctl doctor` passes inside it. Polls until then or until the deadline; gives up at
 * once on states nothing will leave (a FATAL process, a stopped container that will not restart).
 */

export interface ServiceCheck {
  service: string;
  container: string;
  state: string;
  health?: string;
  ok: boolean;
  reason?: string;
}

export interface ProcessCheck {
  container: string;
  name: string;
  state: string;
  ok: boolean;
}

export interface DoctorCheck {
  container: string;
  ok: boolean;
  exitCode: number | null;
  checks: { id: string; status: string; message: string; fix?: string }[];
  error?: string;
}

export interface FailingContainer {
  container: string;
  service: string;
  reason: string;
  /** The container's last log lines (stdout and stderr). */
  logs: string[];
}

export interface VerifyReport {
  ok: boolean;
  services: ServiceCheck[];
  processes: ProcessCheck[];
  doctor?: DoctorCheck;
  problems: string[];
  failing: FailingContainer[];
}

export interface VerifyOptions {
  project: string;
  services: MergedService[];
  /** Programs the supervisord file declares (undefined: the file was not available). */
  programs?: DeclaredProgram[];
  timeoutMs: number;
  /** How many log lines of each failing container to keep. */
  logLines?: number;
  pollMs?: number;
  progress?: (message: string) => void;
}

interface Inspected {
  id: string;
  name: string;
  service: string;
  argv: string[];
  state: string;
  running: boolean;
  restarting: boolean;
  health?: string;
  restartPolicy: string;
  restartCount: number;
  exitCode: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function inspectAll(docker: Docker, project: string): Promise<Inspected[]> {
  const list = await projectContainers(docker, project);
  const out: Inspected[] = [];
  for (const c of list) {
    let info: Docker.ContainerInspectInfo;
    try {
      info = await docker.getContainer(c.Id).inspect();
    } catch {
      continue; // removed meanwhile (an old container replaced by `up`)
    }
    out.push({
      id: info.Id,
      name: info.Name.replace(/^\//, ''),
      service: c.Labels['com.docker.compose.service'] ?? '?',
      argv: [info.Path, ...(info.Args ?? [])],
      state: info.State.Status,
      running: info.State.Running && !info.State.Restarting,
      restarting: info.State.Restarting,
      health: info.State.Health?.Status,
      restartPolicy: info.HostConfig.RestartPolicy?.Name || 'no',
      restartCount: info.RestartCount ?? 0,
      exitCode: info.State.ExitCode,
    });
  }
  return out;
}

function judgeServices(expected: MergedService[], containers: Inspected[]): { checks: ServiceCheck[]; problems: string[]; final: boolean } {
  const checks: ServiceCheck[] = [];
  const problems: string[] = [];
  let final = false;
  for (const svc of expected) {
    if (svc.replicas <= 0) continue;
    const mine = containers.filter((c) => c.service === svc.name);
    if (mine.length < svc.replicas) {
      problems.push(`${svc.name}: ${mine.length} of ${svc.replicas} containers exist`);
      checks.push({ service: svc.name, container: '-', state: 'missing', ok: false, reason: 'no container' });
    }
    for (const c of mine) {
      let reason: string | undefined;
      if (!c.running) {
        reason = c.restarting ? `restarting (last exit code ${c.exitCode})` : `${c.state}${c.state === 'exited' ? ` (exit code ${c.exitCode})` : ''}`;
        // A container that exited without a restart policy stays down, and one that keeps crashing
        // will not settle: no point waiting for either.
        if ((c.state === 'exited' || c.state === 'dead') && c.restartPolicy === 'no') final = true;
        if (c.restartCount >= 3) {
          reason += `, restarted ${c.restartCount} times`;
          final = true;
        }
      } else if (c.health && c.health !== 'healthy') {
        reason = `health: ${c.health}`;
      }
      checks.push({ service: svc.name, container: c.name, state: c.state, health: c.health, ok: !reason, reason });
      if (reason) problems.push(`${c.name}: ${reason}`);
    }
  }
  return { checks, problems, final };
}

async function supervisorStatus(docker: Docker, app: Inspected): Promise<{ text: string; error?: string }> {
  const conf = supervisordConfigFrom(app.argv);
  const cmd = ['supervisorctl', ...(conf ? ['-c', conf] : []), 'status'];
  try {
    // supervisorctl exits 3 when a process is not running: the output still says which.
    const r = await execIn(docker, app.id, cmd, 30_000);
    if (r.exitCode === 126 || r.exitCode === 127) return { text: '', error: `supervisorctl cannot run in ${app.name}: ${firstLine(r.stdout + r.stderr)}` };
    return {
      text: r.stdout,
      error: parseSupervisorStatus(r.stdout).length ? undefined : firstLine(r.stdout + r.stderr) || `supervisorctl exited ${r.exitCode}`,
    };
  } catch (e) {
    return { text: '', error: `supervisorctl status in ${app.name}: ${firstLine((e as Error).message)}` };
  }
}

function firstLine(s: string): string {
  return s.trim().split('\n')[0]?.trim() ?? '';
}

async function runDoctorIn(docker: Docker, app: Inspected): Promise<DoctorCheck> {
  try {
    const r = await execIn(docker, app.id, ['rqctl', 'doctor', '--json'], 60_000);
    let checks: DoctorCheck['checks'] = [];
    try {
      checks = (JSON.parse(r.stdout) as { checks?: DoctorCheck['checks'] }).checks ?? [];
    } catch {
      checks = [];
    }
    const ok = r.exitCode === 0;
    const error = ok
      ? undefined
      : r.exitCode === 126 || r.exitCode === 127
        ? `rqctl cannot run in ${app.name}: ${firstLine(r.stdout + r.stderr)}`
        : checks.length
          ? checks
              .filter((c) => c.status === 'fail')
              .map((c) => c.message)
              .join('; ') || `rqctl doctor exited ${r.exitCode}`
          : firstLine(stripJsonError(r.stderr)) || `rqctl doctor exited ${r.exitCode}`;
    return { container: app.name, ok, exitCode: r.exitCode, checks, error };
  } catch (e) {
    return { container: app.name, ok: false, exitCode: null, checks: [], error: firstLine((e as Error).message) };
  }
}

function stripJsonError(stderr: string): string {
  try {
    const j = JSON.parse(firstLine(stderr)) as { error?: { message?: string } };
    return j.error?.message ?? stderr;
  } catch {
    return stderr;
  }
}

/** The container rqctl runs in: the one whose command runs supervisord, else one that runs rqctl. */
function appContainers(containers: Inspected[]): { supervised: Inspected[]; direct: Inspected[] } {
  const running = containers.filter((c) => c.running);
  return {
    supervised: running.filter((c) => runsSupervisord(c.argv)),
    direct: running.filter((c) => c.argv.some((a) => /(^|[\s/])rqctl(\.js)?(\s|$)/.test(a))),
  };
}

export async function verifyStack(docker: Docker, options: VerifyOptions): Promise<VerifyReport> {
  const deadline = Date.now() + options.timeoutMs;
  const pollMs = options.pollMs ?? 1000;
  const logLines = options.logLines ?? 40;
  const progress = options.progress ?? (() => {});
  let last: {
    services: ServiceCheck[];
    processes: ProcessCheck[];
    doctor?: DoctorCheck;
    problems: string[];
    failingIds: Map<string, { c: Inspected; reason: string }>;
  } = {
    services: [],
    processes: [],
    problems: ['no check ran'],
    failingIds: new Map(),
  };
  let doctorAttempts = 0;

  for (;;) {
    const containers = await inspectAll(docker, options.project);
    const svc = judgeServices(options.services, containers);
    const failingIds = new Map<string, { c: Inspected; reason: string }>();
    for (const check of svc.checks) {
      const c = containers.find((x) => x.name === check.container);
      if (!check.ok && c) failingIds.set(c.id, { c, reason: check.reason ?? check.state });
    }
    const processes: ProcessCheck[] = [];
    let doctor: DoctorCheck | undefined;
    // Process problems first: a FATAL worker says more than the health: starting it causes.
    const problems: string[] = [];
    let final = svc.final;

    // supervisord's view is read as soon as the app container runs, healthy yet or not: a worker
    // that cannot start fails the deploy at once, not when a healthcheck finally gives up.
    const apps = appContainers(containers);
    let processesOk = true;
    for (const app of apps.supervised) {
      progress(`checking supervisord processes in ${app.name}`);
      const st = await supervisorStatus(docker, app);
      if (st.error) {
        processesOk = false;
        problems.push(st.error);
        failingIds.set(app.id, { c: app, reason: st.error });
        continue;
      }
      const verdict = judgeProcesses(parseSupervisorStatus(st.text), options.programs);
      processes.push(...verdict.processes.map((p) => ({ container: app.name, name: p.name, state: p.state, ok: p.ok })));
      if (!verdict.ok) {
        processesOk = false;
        problems.push(...verdict.problems.map((p) => `${app.name}: ${p}`));
        failingIds.set(app.id, { c: app, reason: verdict.problems.join('; ') });
        if (verdict.final) final = true;
      }
    }
    problems.push(...svc.problems);
    if (svc.problems.length === 0) {
      if (apps.supervised.length === 0 && apps.direct.length === 0) {
        problems.push('no app container: no service runs supervisord or rqctl');
        final = true;
      }
      const doctorHost = apps.supervised[0] ?? apps.direct[0];
      if (processesOk && doctorHost) {
        progress(`running rqctl doctor in ${doctorHost.name}`);
        doctor = await runDoctorIn(docker, doctorHost);
        doctorAttempts++;
        if (!doctor.ok) {
          problems.push(`rqctl doctor in ${doctor.container}: ${doctor.error}`);
          failingIds.set(doctorHost.id, { c: doctorHost, reason: `rqctl doctor: ${doctor.error}` });
          // A failing doctor is given a few chances (Redis may still be loading its AOF), not the
          // whole timeout: it rarely fixes itself.
          if (doctorAttempts >= 3) final = true;
        }
      }
    } else if (!final) {
      progress(`waiting for ${svc.problems[0]}${svc.problems.length > 1 ? ` (+${svc.problems.length - 1} more)` : ''}`);
    }

    last = { services: svc.checks, processes, doctor, problems, failingIds };
    if (problems.length === 0) return { ok: true, services: svc.checks, processes, doctor, problems: [], failing: [] };
    if (final || Date.now() + pollMs > deadline) break;
    await sleep(doctor && !doctor.ok ? Math.max(pollMs, 5000) : pollMs);
  }

  if (Date.now() + pollMs > deadline) last.problems.unshift(`not ready within ${Math.round(options.timeoutMs / 1000)}s`);
  const failing: FailingContainer[] = [];
  for (const { c, reason } of last.failingIds.values()) {
    let logs: string[];
    try {
      logs = await containerLogTail(docker, c.id, logLines);
    } catch (e) {
      logs = [`(logs unavailable: ${firstLine((e as Error).message)})`];
    }
    failing.push({ container: c.name, service: c.service, reason, logs });
  }
  return { ok: false, services: last.services, processes: last.processes, doctor: last.doctor, problems: last.problems, failing };
}

/**
 * The containers that are not running or not healthy right now, with their last log lines: what a
 * failed `up` (a dependency that never became healthy) is explained by.
 */
export async function failingNow(docker: Docker, project: string, services: MergedService[], logLines = 40): Promise<FailingContainer[]> {
  const containers = await inspectAll(docker, project);
  const judged = judgeServices(services, containers);
  const failing: FailingContainer[] = [];
  for (const check of judged.checks) {
    if (check.ok) continue;
    const c = containers.find((x) => x.name === check.container);
    if (!c) continue;
    let logs: string[];
    try {
      logs = await containerLogTail(docker, c.id, logLines);
    } catch (e) {
      logs = [`(logs unavailable: ${firstLine((e as Error).message)})`];
    }
    failing.push({ container: c.name, service: c.service, reason: check.reason ?? check.state, logs });
  }
  return failing;
}
