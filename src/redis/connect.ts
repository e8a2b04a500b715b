import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { Config } from '../config/resolve.js';
import type { Role, RoleEndpoint } from '../config/endpoints.js';
import { ExitCode, RqctlError } from '../errors.js';
import { isConnectionError, lostConnection } from './pipeline.js';

export type RedisClient = Redis | Cluster;

/**
 * How a connection is used decides its options:
 * - `oneshot`: CLI commands and producers. No offline queue, no reconnects, a short connect timeout:
 *   a down Redis is reported within seconds instead of hanging.
 * - `worker`: workers, QueueEvents, the scheduler. `maxRetriesPerRequest: null` (BullMQ requires it
 *   for blocking commands) and reconnect forever, so a Redis restart is survived.
 * - `watch`: long-lived readers that answer requests (the dashboard): reconnect forever like a worker,
 *   but a command sent while disconnected fails at once instead of waiting in a queue, so a page
 *   can say "Redis unreachable" instead of hanging.
 */
export type ConnectionUse = 'oneshot' | 'worker' | 'watch';

export interface ConnectOptions {
  use?: ConnectionUse;
  /** Overrides the configured connect timeout (ms). */
  connectTimeoutMs?: number;
  /** For diagnostics in CLIENT LIST. */
  connectionName?: string;
}

/**
 * Long-lived connections through Sentinel follow a failover (docs/topology.md): a killed master's
 * connections drop and ioredis asks the Sentinels for the new one. A master that was demoted but
 * is still up answers READONLY on a stale connection: that reconnects (asking the Sentinels again)
 * and resends the command. (ioredis' failoverDetector is left off: its Sentinel subscriptions keep a
 * stopped worker's process alive.)
 */
const SENTINEL_WORKER_OPTIONS: RedisOptions = {
  reconnectOnError: (err) => (/^READONLY\b/.test(err.message) ? 2 : false),
};

function baseOptions(ep: RoleEndpoint, use: ConnectionUse, timeoutMs: number, name?: string): RedisOptions {
  const common: RedisOptions = {
    username: ep.username,
    password: ep.password,
    db: ep.db,
    connectTimeout: timeoutMs,
    connectionName: name,
    tls: ep.tls ? {} : undefined,
    lazyConnect: true,
    // How long disconnect() waits for the socket to close before destroying it (ioredis' default: 2 s).
    disconnectTimeout: 500,
    // No CLIENT SETINFO: Redis 7.0 does not know it, and an ACL user without it (docs/acl.md) would
    // fill ACL LOG with refusals on 7.2+. The connection name (CLIENT SETNAME) still identifies us.
    disableClientInfo: true,
  };
  if (use === 'worker') {
    return {
      ...common,
      ...(ep.kind === 'sentinel' ? SENTINEL_WORKER_OPTIONS : {}),
      maxRetriesPerRequest: null,
      enableReadyCheck: true,
      // Back off up to 5 s between reconnects, forever: a worker must outlive a Redis restart.
      retryStrategy: (times) => Math.min(200 * times, 5000),
    };
  }
  if (use === 'watch') return { ...common, enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: (times) => Math.min(200 * times, 5000) };
  return { ...common, enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: () => null };
}

/** A client for one role's endpoint, not yet connected. Prefer `connectRole` for one-shot use. */
export function createClient(ep: RoleEndpoint, options: ConnectOptions & { timeoutMs: number }): RedisClient {
  const use = options.use ?? 'oneshot';
  const opts = baseOptions(ep, use, options.timeoutMs, options.connectionName);
  if (ep.kind === 'cluster') {
    const clusterOpts: ClusterOptions = {
      lazyConnect: true,
      // Must stay on: without it ioredis' cluster ready check runs before the other masters'
      // connections are up, fails with "Connection is closed", and connect() never settles.
      // One-shot commands still fail fast: clusterRetryStrategy is null and connect() has a timeout.
      enableOfflineQueue: true,
      redisOptions: { ...opts, db: 0, lazyConnect: false },
      clusterRetryStrategy: use === 'worker' ? (times) => Math.min(200 * times, 5000) : () => null,
      maxRedirections: 16,
    };
    return new Cluster(ep.nodes ?? [{ host: ep.host, port: ep.port }], clusterOpts);
  }
  if (ep.kind === 'sentinel') {
    return new Redis({ ...opts, sentinels: ep.sentinels, name: ep.sentinelMaster, sentinelPassword: ep.password, sentinelUsername: ep.username });
  }
  return new Redis({ ...opts, host: ep.host, port: ep.port });
}

function where(ep: RoleEndpoint): string {
  if (ep.kind === 'sentinel') return `Sentinel master "${ep.sentinelMaster}" (${ep.role} role)`;
  if (ep.kind === 'cluster') return `Redis Cluster ${ep.nodes?.map((n) => `${n.host}:${n.port}`).join(',')} (${ep.role} role)`;
  return `Redis at ${ep.host.includes(':') ? `[${ep.host}]` : ep.host}:${ep.port} (${ep.role} role)`;
}

/** Redis (6.2.6+, 7.x) closes the connection of an unauthenticated client that sends an argument over 16 KB. */
const UNAUTHENTICATED_MAX_BULK = 16_384;

function authTooLong(ep: RoleEndpoint): { what: 'password' | 'user name'; bytes: number } | undefined {
  const pw = ep.password === undefined ? 0 : Buffer.byteLength(ep.password);
  if (pw > UNAUTHENTICATED_MAX_BULK) return { what: 'password', bytes: pw };
  const user = ep.username === undefined ? 0 : Buffer.byteLength(ep.username);
  if (user > UNAUTHENTICATED_MAX_BULK) return { what: 'user name', bytes: user };
  return undefined;
}

/** Turns what ioredis reports into one line an operator can act on. */
export function describeConnectError(ep: RoleEndpoint, err: unknown, timeoutMs: number): RqctlError {
  const e = err as NodeJS.ErrnoException & { message?: string };
  const msg = String(e?.message ?? err);
  const at = where(ep);
  const code = e?.code;
  const mk = (c: string, message: string, hint: string, exit: 2 | 3 = ExitCode.unreachable) => new RqctlError(c, exit, message, { hint, cause: err });
  const from = ep.passwordFrom ?? 'REDIS_PASSWORD';
  const inUrl = from !== 'REDIS_PASSWORD' && !/ redis\.password$/.test(from);
  const tooLong = authTooLong(ep);
  if (tooLong && (/unauthenticated (bulk|multibulk) length/i.test(msg) || code === 'ECONNRESET' || code === 'EPIPE' || /Connection is closed/i.test(msg))) {
    return mk(
      'REDIS_AUTH',
      `${at} closed the connection: the ${tooLong.what} (from ${tooLong.what === 'password' ? from : 'REDIS_USERNAME'}) is ${tooLong.bytes} bytes: Redis drops a request with an argument over 16 KB (16384 bytes) from a client that has not authenticated yet`,
      'use a password (and user name) of at most 16384 bytes; set requirepass (or the ACL user) to match',
    );
  }
  if (/WRONGPASS|invalid password|invalid username-password/i.test(msg)) {
    return mk(
      'REDIS_AUTH',
      `${at} refused the password${ep.username ? ` for user "${ep.username}"` : ''} (from ${from})`,
      inUrl
        ? `fix the password in ${from} (or take it out and set REDIS_PASSWORD: a URL shows in ps); it must match the server's requirepass (or ACL user)`
        : `set REDIS_PASSWORD to the password that the server's requirepass (or ACL user) expects`,
    );
  }
  if (/NOAUTH|Authentication required/i.test(msg)) {
    return mk('REDIS_AUTH', `${at} requires a password and none was given`, 'set REDIS_PASSWORD (or put it in the environment file)');
  }
  if (/without any password configured|AUTH <password> called without/i.test(msg)) {
    return mk(
      'REDIS_AUTH',
      `${at} has no password configured but one was given (from ${from})`,
      inUrl ? `take the password out of ${from}, or set requirepass on the server` : 'unset REDIS_PASSWORD, or set requirepass on the server',
    );
  }
  if (/cluster support disabled/i.test(msg)) {
    return mk(
      'REDIS_TOPOLOGY',
      `${at} is a standalone server, but REDIS_CLUSTER=true`,
      'unset REDIS_CLUSTER, or point at the nodes of a Redis Cluster',
      ExitCode.usage,
    );
  }
  if (/DB index is out of range/i.test(msg)) {
    return mk('REDIS_DB', `${at} has fewer databases than DB ${ep.db}`, 'use a DB the server has (its `databases` setting), usually 0–15', ExitCode.usage);
  }
  if (code === 'ECONNREFUSED')
    return mk('REDIS_UNREACHABLE', `${at} refused the connection (nothing listening)`, 'start Redis, or check REDIS_URL / REDIS_HOST and REDIS_PORT');
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return mk('REDIS_UNREACHABLE', `${at}: host "${ep.host}" not found`, 'check the host name in REDIS_URL / REDIS_HOST');
  if (code === 'ETIMEDOUT' || /timed? ?out/i.test(msg)) {
    return mk(
      'REDIS_TIMEOUT',
      `${at} did not answer within ${Math.round(timeoutMs / 100) / 10} s`,
      'check that the host and port are right and a firewall lets you through',
    );
  }
  if (code === 'ECONNRESET' || code === 'EPIPE')
    return mk('REDIS_UNREACHABLE', `${at} closed the connection (${code}); is it TLS (rediss://) or not Redis at all?`, 'check the scheme and port');
  if (/Failed to refresh slots cache|None of startup nodes is available/i.test(msg)) {
    return mk('REDIS_UNREACHABLE', `${at}: no cluster node answered`, 'check REDIS_CLUSTER_NODES, or unset REDIS_CLUSTER for a standalone server');
  }
  if (/All sentinels are unreachable/i.test(msg)) return mk('REDIS_UNREACHABLE', `${at}: no Sentinel answered`, 'check REDIS_SENTINELS');
  return mk('REDIS_ERROR', `${at}: ${msg.split('\n')[0]}`, 'check the Redis settings with `rqctl config show`');
}

/**
 * Connects one role and checks that it really is what the config says: a standalone server must not
 * be a cluster node (commands would fail later with MOVED), and the DB must have been selected.
 */
export async function connectEndpoint(ep: RoleEndpoint, options: ConnectOptions & { timeoutMs: number }): Promise<RedisClient> {
  const client = createClient(ep, options);
  let lastError: unknown;
  const onError = (e: unknown) => {
    lastError = e;
  };
  client.on('error', onError);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' })), options.timeoutMs + 250);
      }),
    ]);
    if (ep.kind === 'standalone' || ep.kind === 'sentinel') {
      // An ACL user may lack INFO: then the cluster check is skipped (a cluster node would still
      // answer MOVED to the first command), the command itself goes on.
      const info = await (client as Redis).info('cluster').then(String, (e: Error) => {
        if (/^NOPERM/.test(e.message)) return '';
        throw e;
      });
      if (/cluster_enabled:1/.test(info)) {
        throw new RqctlError('REDIS_TOPOLOGY', ExitCode.usage, `${where(ep)} is a Redis Cluster node, but REDIS_CLUSTER is not set`, {
          hint: 'set REDIS_CLUSTER=true (a cluster has only DB 0)',
        });
      }
      // ioredis ignores a failed SELECT on connect and stays on DB 0: confirm where we are.
      if (ep.db !== 0) {
        const clientInfo = await (client as Redis).call('CLIENT', 'INFO').then(String, () => '');
        const db = /\bdb=(\d+)/.exec(clientInfo)?.[1];
        if (db !== undefined && Number(db) !== ep.db) {
          throw new RqctlError('REDIS_DB', ExitCode.usage, `${where(ep)}: could not select DB ${ep.db} (the server has fewer databases)`, {
            hint: 'use a DB the server has (its `databases` setting, 16 by default)',
          });
        }
      }
    }
  } catch (e) {
    // ioredis arms a timer on disconnect() that waits for a 'close' a dead socket never sends again.
    if (client.status !== 'end') client.disconnect();
    if (e instanceof RqctlError) throw e;
    if (ep.kind === 'cluster') {
      const diagnosis = await diagnoseClusterNode(ep, options.timeoutMs);
      if (diagnosis) throw diagnosis;
    }
    // ioredis rejects connect() with "Connection is closed."; the real cause came as an 'error' event.
    throw describeConnectError(ep, lastError ?? e, options.timeoutMs);
  } finally {
    if (timer) clearTimeout(timer);
  }
  client.off('error', onError);
  if (options.use !== 'worker') {
    // Later errors surface on the command that hit them; this keeps ioredis from printing
    // "Unhandled error event" on a one-shot command.
    client.on('error', () => {});
  }
  return client;
}

/**
 * A cluster client that cannot start says little ("Failed to refresh slots cache"). Asking the first
 * node directly tells the operator what is wrong: it is a standalone server, or a cluster that is
 * not serving (no slots assigned, cluster_state:fail).
 */
async function diagnoseClusterNode(ep: RoleEndpoint, timeoutMs: number): Promise<RqctlError | undefined> {
  const node = ep.nodes?.[0] ?? { host: ep.host, port: ep.port };
  const probe = new Redis({ ...baseOptions({ ...ep, kind: 'standalone', db: 0 }, 'oneshot', Math.min(timeoutMs, 3000)), host: node.host, port: node.port });
  probe.on('error', () => {});
  try {
    await probe.connect();
    const info = String(await probe.info('cluster'));
    if (/cluster_enabled:0/.test(info)) {
      return new RqctlError('REDIS_TOPOLOGY', ExitCode.usage, `Redis at ${node.host}:${node.port} is a standalone server, but REDIS_CLUSTER=true`, {
        hint: 'unset REDIS_CLUSTER, or point REDIS_CLUSTER_NODES at the nodes of a Redis Cluster',
      });
    }
    const state = /cluster_state:(\w+)/.exec(String(await probe.call('CLUSTER', 'INFO')))?.[1];
    if (state && state !== 'ok') {
      return new RqctlError('REDIS_CLUSTER_DOWN', ExitCode.unreachable, `Redis Cluster at ${node.host}:${node.port} is not serving (cluster_state:${state})`, {
        hint: 'check `redis-cli -p PORT cluster info`: every slot must be assigned to a reachable master',
      });
    }
  } catch {
    return undefined;
  } finally {
    if (probe.status !== 'end') probe.disconnect();
  }
  return undefined;
}

export async function connectRole(config: Config, role: Role, options: ConnectOptions = {}): Promise<RedisClient> {
  return connectEndpoint(config.roles[role], { ...options, timeoutMs: options.connectTimeoutMs ?? config.redis.connectTimeoutMs });
}

/** The address of the server a connected client talks to (`host:port`): through Sentinel, the master it found. */
export function serverAddress(client: RedisClient): string | undefined {
  const stream = (client as Redis).stream as { remoteAddress?: string; remotePort?: number } | undefined;
  if (!stream?.remoteAddress) return undefined;
  return `${stream.remoteAddress.includes(':') ? `[${stream.remoteAddress}]` : stream.remoteAddress}:${stream.remotePort}`;
}

/** Closes a client politely (QUIT), falling back to a hard disconnect if Redis is gone. */
export async function closeClient(client: RedisClient | undefined): Promise<void> {
  if (!client) return;
  if (client.status === 'end') return;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([client.quit(), new Promise((r) => (timer = setTimeout(r, 1000)))]);
  } catch {
    /* already closed */
  } finally {
    clearTimeout(timer);
  }
  client.disconnect();
}

/**
 * Opens the connections a command needs, one per distinct role endpoint, and closes them all.
 * The one way one-shot commands use Redis: nothing is left open when the command returns, and a
 * connection lost midway (Redis restarted, network cut) is reported as such (exit 3), never as an
 * internal error or as an empty result.
 */
export async function withRoles<R extends Role, T>(
  config: Config,
  roles: readonly R[],
  fn: (clients: Record<R, RedisClient>) => Promise<T>,
  options: ConnectOptions = {},
): Promise<T> {
  const clients = {} as Record<R, RedisClient>;
  try {
    for (const role of roles) clients[role] = await connectRole(config, role, options);
    return await fn(clients);
  } catch (e) {
    if (isConnectionError(e)) throw lostConnection(e);
    throw e;
  } finally {
    await Promise.all(Object.values<RedisClient>(clients).map((c) => closeClient(c)));
  }
}

/** ioredis-compatible connection options for BullMQ (which creates its own clients from them). */
export function bullConnectionOptions(ep: RoleEndpoint, use: ConnectionUse, timeoutMs: number): RedisOptions {
  const opts = baseOptions(ep, use, timeoutMs);
  delete opts.lazyConnect;
  if (ep.kind === 'sentinel') return { ...opts, sentinels: ep.sentinels, name: ep.sentinelMaster };
  return { ...opts, host: ep.host, port: ep.port };
}
