import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { serveStatic } from '@hono/node-server/serve-static';
import { Queue } from 'bullmq';
import { quietErrors } from '../queue/queues.js';
import type { Hono } from 'hono';
import type { Config } from '../config/resolve.js';
import type { RedisClient } from '../redis/connect.js';

/**
 * The job browser at `<base>/queues/`: bull-board on every rqctl queue (jobs by state, payload, logs,
 * stack traces, retry / promote / remove / clean). Embedded, not rewritten (docs/dashboard.md).
 * Read-only mode is bull-board's own per-queue option: the UI then offers no mutating control; the
 * server refuses such requests anyway (security.ts).
 */
export class JobBrowser {
  private readonly adapter = new HonoAdapter(serveStatic);
  private readonly queues = new Map<string, Queue>();
  private readonly board: ReturnType<typeof createBullBoard>;

  constructor(
    private readonly config: Config,
    private readonly client: RedisClient,
    private readonly opts: { basePath: string; readOnly: boolean; overviewUrl: string },
  ) {
    this.adapter.setBasePath(`${opts.basePath}/queues`);
    this.board = createBullBoard({
      queues: [],
      serverAdapter: this.adapter,
      options: {
        uiConfig: {
          boardTitle: 'rqctl',
          miscLinks: [{ text: 'rqctl overview', url: opts.overviewUrl }],
          hideDocsLink: true,
          // Workers come from rqctl's heartbeats on the overview; bull-board would run a CLIENT LIST
          // per queue at every poll.
          showWorkers: false,
          sortQueues: true,
        },
      },
    });
  }

  /** The Hono app to mount at `<base>/queues`. */
  routes(): Hono {
    return this.adapter.registerPlugin();
  }

  /** Shows exactly these queues (called with each discovery). Opening a queue writes nothing. */
  setQueues(names: readonly string[]): void {
    const wanted = new Set(names);
    let changed = false;
    for (const name of names) {
      if (this.queues.has(name)) continue;
      // skipMetasUpdate: browsing must not create the meta key of a queue that has none yet.
      this.queues.set(name, quietErrors(new Queue(name, { connection: this.client as never, prefix: this.config.queue.prefix, skipMetasUpdate: true })));
      changed = true;
    }
    for (const [name, q] of this.queues) {
      if (wanted.has(name)) continue;
      this.queues.delete(name);
      void q.close().catch(() => {});
      changed = true;
    }
    if (changed) this.board.replaceQueues([...this.queues.values()].map((q) => new BullMQAdapter(q, { readOnlyMode: this.opts.readOnly })));
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close().catch(() => {})));
    this.queues.clear();
  }
}
