import type { Config } from '../config/resolve.js';
import { ROLES, type Role } from '../config/endpoints.js';
import { RqctlError } from '../errors.js';
import { closeClient, connectRole, serverAddress, type RedisClient } from './connect.js';
import { parseInfo } from './info.js';
import { isConnectionError, lostConnection } from './pipeline.js';

export interface PingResult {
  role: Role;
  url: string;
  ok: boolean;
  latencyMs: number | null;
  version: string | null;
  db: number;
  /** Through Sentinel: the master it named, as `host:port` (after a failover, the new one). */
  master?: string;
  error?: { code: string; message: string; hint?: string };
}

/** Connects every role (in parallel), measures a PING round trip and reads the server version. */
export async function pingRoles(config: Config, roles: readonly Role[] = ROLES): Promise<{ roles: PingResult[]; exitCode: number }> {
  const results = await Promise.all(
    roles.map(async (role): Promise<PingResult & { exit?: number }> => {
      const ep = config.roles[role];
      const base = { role, url: ep.display, db: ep.db };
      let client: RedisClient | undefined;
      try {
        client = await connectRole(config, role);
        const t0 = process.hrtime.bigint();
        await client.ping();
        const latencyMs = Number(process.hrtime.bigint() - t0) / 1e6;
        const info = parseInfo(String(await client.info('server')));
        const master = ep.kind === 'sentinel' ? serverAddress(client) : undefined;
        return { ...base, ok: true, latencyMs: Math.round(latencyMs * 100) / 100, version: info.redis_version ?? null, ...(master ? { master } : {}) };
      } catch (caught) {
        // A connection lost after connecting (PING, INFO) is this role's failure too: exit 3.
        const e = isConnectionError(caught) ? lostConnection(caught) : caught;
        if (!(e instanceof RqctlError)) throw e;
        return { ...base, ok: false, latencyMs: null, version: null, error: { code: e.code, message: e.message, hint: e.hint }, exit: e.exitCode };
      } finally {
        await closeClient(client);
      }
    }),
  );
  const exitCode = Math.max(0, ...results.map((r) => r.exit ?? 0));
  return { roles: results.map(({ exit: _exit, ...r }) => r), exitCode };
}
