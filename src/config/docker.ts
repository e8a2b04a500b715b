/**
 * The Docker side of the environment, for `rqctl deploy`. Like resolve.ts, this module reads
 * `process.env` so that src/deploy never does: the CLI resolves it once and hands it down.
 */
export interface DockerEnvironment {
  /** `DOCKER_HOST` as given: `unix:///var/run/docker.sock`, `ssh://deploy@host`, `tcp://host:2376`. */
  host?: string;
  /** `DOCKER_TLS_VERIFY=1`: talk TLS to a tcp:// host. */
  tlsVerify: boolean;
  /** `DOCKER_CERT_PATH`: ca.pem, cert.pem, key.pem for a TLS host. */
  certPath?: string;
  /** `SSH_AUTH_SOCK`: the agent that holds the key for an ssh:// host. */
  sshAuthSock?: string;
  /** `DOCKER_SSH_KNOWN_HOSTS`: the known_hosts file ssh:// host keys are checked against (default ~/.ssh/known_hosts). */
  sshKnownHosts?: string;
  /** `COMPOSE_PROJECT_NAME`, which compose itself would use when no -p is given. */
  composeProjectName?: string;
  /**
   * The whole environment, for the compose subprocess (it reads DOCKER_HOST, DOCKER_CONTEXT, …
   * itself) and for `${VAR}` interpolation when the compose file is validated.
   */
  processEnv: Record<string, string>;
}

export function resolveDockerEnvironment(env: NodeJS.ProcessEnv = process.env): DockerEnvironment {
  const processEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) processEnv[k] = v;
  const nonEmpty = (v: string | undefined) => (v === undefined || v === '' ? undefined : v);
  return {
    host: nonEmpty(env.DOCKER_HOST),
    tlsVerify: env.DOCKER_TLS_VERIFY !== undefined && env.DOCKER_TLS_VERIFY !== '' && env.DOCKER_TLS_VERIFY !== '0',
    certPath: nonEmpty(env.DOCKER_CERT_PATH),
    sshAuthSock: nonEmpty(env.SSH_AUTH_SOCK),
    sshKnownHosts: nonEmpty(env.DOCKER_SSH_KNOWN_HOSTS),
    composeProjectName: nonEmpty(env.COMPOSE_PROJECT_NAME),
    processEnv,
  };
}
