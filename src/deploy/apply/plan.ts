import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { DockerEnvironment } from '../../config/docker.js';
import type { AclSettings } from '../acl/aclfiles.js';
import { displayName } from '../validate/model.js';
import { composeCommandLine, projectNameFor } from './compose-cli.js';
import { engineDisplay } from './engine.js';

/**
 * What `rqctl deploy` is asked to do (docs/deployment.md), and the plan `--dry-run` prints from the
 * options alone.
 */

export type StepName = 'validate' | 'build' | 'up' | 'verify';

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
  /**
   * The ACL users' passwords and key prefixes, asked for only when the stack mounts aclfiles rqctl
   * writes (docs/acl.md): a missing password is then exit 2 naming the variable.
   */
  aclSettings?: () => Promise<AclSettings>;
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

/** The options made concrete: absolute paths and the project name. */
export interface DeployInputs {
  files: string[];
  supervisorFile: string;
  supervisorExplicit: boolean;
  project: string;
}

export function resolveDeployInputs(options: DeployOptions): DeployInputs {
  const files = (options.files.length ? options.files : ['docker-compose.prod.yml']).map((f) => resolve(options.cwd, f));
  const supervisorExplicit = options.supervisorFile !== undefined;
  const supervisorFile = resolve(options.cwd, options.supervisorFile ?? join(dirname(files[0]), 'supervisord.prod.conf'));
  const project = projectNameFor(files, options.projectName, options.docker.composeProjectName);
  return { files, supervisorFile, supervisorExplicit, project };
}

/** What a deploy would do, from the options alone: no engine, no compose, no network. */
export function deployPlan(options: DeployOptions): DeployPlan {
  const r = resolveDeployInputs(options);
  const files = r.files.map((f) => displayName(f, options.cwd));
  const sup = displayName(r.supervisorFile, options.cwd);
  const inv = { display: 'docker compose', files, project: r.project, envFile: options.envFile };
  const notes: string[] = [];
  for (const f of r.files) if (!existsSync(f)) notes.push(`${displayName(f, options.cwd)} does not exist`);
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
      description: `within ${Math.round(options.timeoutMs / 1000)}s: every service running and healthy; in the app container every rqctl-worker, rqctl-scheduler and rqctl-dashboard RUNNING (supervisorctl status); rqctl doctor passes`,
    });
  }
  return { project: r.project, files, supervisorFile: sup, engine: engineDisplay(options.docker), steps, notes };
}
