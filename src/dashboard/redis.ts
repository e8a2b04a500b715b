import type { Config } from '../config/resolve.js';
import { ROLES, type Role } from '../config/endpoints.js';
import { closeClient, createClient, describeConnectError, type RedisClient } from '../redis/connect.js';

/**
 * The dashboard's connections: one per role (roles on the same server and DB share one), opened at
 * start without waiting and reconnecting forever. A command sent while a server is down fails at once
 * (the `watch` connection use), so a page says "unreachable" instead of hanging, and the dashboard
 * starts even when no Redis answers yet.
 */
export class DashboardRedis {
  private readonly byRole = new Map<Role, RedisClient>();
  private readonly lastError = new Map<RedisClient, unknown>();

  constructor(private readonly config: Config) {
    const opened = new Map<string, RedisClient>();
    for (const role of ROLES) {
      const ep = config.roles[role];
      const key = `${ep.display}|${ep.db}|${ep.username ?? ''}`;
      let client = opened.get(key);
      if (!client) {
        client = createClient(ep, { use: 'watch', timeoutMs: config.redis.connectTimeoutMs, connectionName: 'rqctl:dashboard' });
        const c = client;
        c.on('error', (e: unknown) => this.lastError.set(c, e));
        c.on('ready', () => this.lastError.delete(c));
        opened.set(key, client);
      }
      this.byRole.set(role, client);
    }
  }

  /** Starts connecting; never throws (an unreachable server is reported per request). */
  start(): void {
    for (const c of this.distinct()) c.connect().catch((e: unknown) => this.lastError.set(c, e));
  }

  /** Waits up to `ms` for a role to connect (false when it did not: the caller goes on anyway). */
  waitReady(role: Role, ms: number): Promise<boolean> {
    const c = this.client(role);
    if (c.status === 'ready') return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        c.off('ready', onReady);
        resolve(ok);
      };
      const onReady = () => done(true);
      const timer = setTimeout(() => done(false), ms);
      c.on('ready', onReady);
    });
  }

  client(role: Role): RedisClient {
    return this.byRole.get(role)!;
  }

  isReady(role: Role): boolean {
    return this.client(role).status === 'ready';
  }

  /** Why a role cannot be used right now, in the CLI's words; null when it is connected. */
  problem(role: Role): string | null {
    const c = this.client(role);
    if (c.status === 'ready') return null;
    const err = this.lastError.get(c);
    const ep = this.config.roles[role];
    if (err === undefined) return `${ep.display} (${role} role): connecting`;
    return describeConnectError(ep, err, this.config.redis.connectTimeoutMs).message;
  }

  /** Every role's client, connected or not (the metrics exposition reports `rqctl_redis_up 0` for the latter). */
  allClients(): Record<Role, RedisClient> {
    return Object.fromEntries(ROLES.map((role) => [role, this.client(role)])) as Record<Role, RedisClient>;
  }

  /** The connected clients by role (what doctor's checks take). */
  readyClients(): Partial<Record<Role, RedisClient>> {
    const out: Partial<Record<Role, RedisClient>> = {};
    for (const role of ROLES) if (this.isReady(role)) out[role] = this.client(role);
    return out;
  }

  async close(): Promise<void> {
    await Promise.all(this.distinct().map((c) => closeClient(c)));
  }

  private distinct(): RedisClient[] {
    return [...new Set(this.byRole.values())];
  }
}
