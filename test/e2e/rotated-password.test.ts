import { afterEach, describe, expect, it } from 'vitest';
import { RedisServer } from '../helpers/redis-server.js';
import { CliProcess } from '../helpers/worker-process.js';

const OLD = 'old-Secret-4711';
const NEW = 'new-Secret-4712';

/** Polls `ok` until it holds (the dashboard logs its events on stderr, its URL on stdout). */
async function until(ok: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let redis: RedisServer | undefined;
const procs: CliProcess[] = [];

afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => p.stop()));
  await redis?.stop();
  redis = undefined;
});

describe("a Redis user's password changed under running processes (a deploy rotating ACL passwords)", () => {
  it('the dashboard, a worker and the scheduler never print the old password while Redis refuses it, and each stops on SIGTERM', async () => {
    redis = await RedisServer.start();
    const admin = redis.client();
    try {
      await admin.call('ACL', 'SETUSER', 'rot', 'on', `>${OLD}`, '~*', '&*', '+@all');
      const env = { REDIS_URL: `redis://rot:${OLD}@127.0.0.1:${redis.port}/0` };
      const dashboard = new CliProcess(['dashboard', '--port', '0'], env);
      const worker = new CliProcess(['worker', '--queue', 'default'], env);
      const scheduler = new CliProcess(['scheduler'], env);
      procs.push(dashboard, worker, scheduler);
      await Promise.all([
        until(() => dashboard.stdout.includes('rqctl dashboard: http'), 'the dashboard listening'),
        worker.waitFor((e) => e.event === 'started', 30_000, 'the worker started'),
        scheduler.waitFor((e) => e.event === 'scheduler.started', 30_000, 'the scheduler started'),
      ]);

      await admin.call('ACL', 'SETUSER', 'rot', 'resetpass', `>${NEW}`);
      await admin.call('CLIENT', 'KILL', 'USER', 'rot');
      // Their reconnects are refused (WRONGPASS) for a while; the dashboard's BullMQ queues used to
      // print each refusal whole, with the AUTH command and its password.
      await Promise.all([worker.waitFor((e) => e.event === 'redis-down', 20_000, 'the worker noticing'), new Promise((r) => setTimeout(r, 3000))]);
      for (const p of procs) {
        expect(p.stdout + p.stderr).not.toContain(OLD);
        expect(p.stdout + p.stderr).not.toContain(NEW);
      }

      // Stopping is not held up by the refused connections (supervisord waits stopwaitsecs for it).
      const t0 = Date.now();
      for (const p of procs) p.signal('SIGTERM');
      const exits = await Promise.all(procs.map((p) => p.exit(30_000)));
      expect(exits.map((x) => x.signal)).toEqual([null, null, null]);
      expect(Date.now() - t0).toBeLessThan(20_000);
      for (const p of procs) expect(p.stdout + p.stderr).not.toContain(OLD);
    } finally {
      admin.disconnect();
    }
  });
});
