import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/chaos.js';
import { RedisServer } from '../helpers/redis-server.js';

/**
 * docs/doctor.md: a server the stack cannot write to fails doctor, however healthy it looks
 * otherwise: a read-only replica (every role writes: queue, sessions, cache) and a server that is
 * full under noeviction (it refuses every write with OOM).
 */

type Check = { id: string; status: string; message: string; fix?: string };

async function doctor(env: Record<string, string>): Promise<{ exitCode: number | null; checks: Check[]; stderr: string }> {
  const r = await runCli(['doctor', '--json'], { env });
  return { exitCode: r.exitCode, checks: r.json?.checks ?? [], stderr: r.stderr };
}

/** 64 KB values, then 512-byte ones, until the server answers OOM: really full, not a flag. */
async function fillUntilFull(server: RedisServer): Promise<void> {
  const c = server.client();
  try {
    let n = 0;
    for (const size of [65_536, 512]) {
      const pad = 'x'.repeat(size);
      for (;;) {
        try {
          await c.set(`pad:${size}:${n++}`, pad);
        } catch (e) {
          expect(String((e as Error).message)).toMatch(/^OOM/);
          break;
        }
      }
    }
  } finally {
    c.disconnect();
  }
}

describe('doctor and servers that refuse writes', () => {
  const stops: (() => Promise<unknown>)[] = [];
  let master: RedisServer;
  let replica: RedisServer;
  let full: RedisServer;
  beforeAll(async () => {
    master = await RedisServer.start({ args: ['--maxmemory-policy', 'noeviction', '--maxmemory', '64mb', '--appendonly', 'yes'] });
    stops.push(() => master.stop());
    replica = await RedisServer.start({
      args: ['--maxmemory-policy', 'noeviction', '--maxmemory', '64mb', '--appendonly', 'yes', '--replicaof', '127.0.0.1', String(master.port)],
    });
    stops.push(() => replica.stop());
    await waitFor('the replica to sync', async () => {
      const c = replica.client();
      try {
        return /master_link_status:up/.test(await c.info('replication'));
      } finally {
        c.disconnect();
      }
    });
    full = await RedisServer.start({ args: ['--maxmemory', '4mb', '--maxmemory-policy', 'noeviction', '--appendonly', 'yes'] });
    stops.push(() => full.stop());
    await fillUntilFull(full);
  });
  afterAll(async () => {
    for (const s of stops.reverse()) await s().catch(() => {});
  });

  it('item 8: doctor fails on a read-only replica', async () => {
    const r = await doctor({ REDIS_URL: replica.url() });
    expect(r.exitCode, r.stderr).toBe(4);
    const check = r.checks.find((c) => c.id === 'writable');
    expect(check, JSON.stringify(r.checks, null, 1)).toMatchObject({ status: 'fail' });
    expect(check!.message).toMatch(new RegExp(`read-only replica of 127\\.0\\.0\\.1:${master.port}`));
    expect(check!.fix).toMatch(/master|REDIS_SENTINELS/);
    // The master it replicates passes the same check.
    const m = await doctor({ REDIS_URL: master.url() });
    expect(m.checks.find((c) => c.id === 'writable')).toMatchObject({ status: 'ok' });
    expect(m.checks.filter((c) => c.status === 'fail')).toEqual([]);
  });

  it('item 8: doctor fails on a full noeviction server that refuses writes', async () => {
    const r = await doctor({ REDIS_URL: full.url() });
    expect(r.exitCode, r.stderr).toBe(4);
    const check = r.checks.find((c) => c.id === 'memory-full');
    expect(check, JSON.stringify(r.checks, null, 1)).toMatchObject({ status: 'fail' });
    expect(check!.message).toMatch(/noeviction/);
    expect(check!.message).toMatch(/refuses (every )?write/);
    expect(check!.fix).toMatch(/maxmemory/);
  });
});
