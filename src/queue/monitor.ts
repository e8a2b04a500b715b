import type { Config } from '../config/resolve.js';
import type { RedisClient } from '../redis/connect.js';
import { discoverQueues } from './queues.js';
import { execPipeline } from '../redis/pipeline.js';

/**
 * `queue monitor`: backlog size and the age of the oldest job ready to run, per queue, against
 * thresholds. One sample is a handful of O(1)/O(log n) reads per queue in one pipeline, cheap enough
 * to run every few seconds against production.
 *
 * Backlog ("size") = jobs ready to run and not running: the wait list, prioritized jobs, BullMQ < 5's
 * paused list, and delayed jobs whose time has come (workers promote those; when no worker runs they
 * pile up in the delayed set). Delayed jobs not yet due are not backlog.
 *
 * Age = now − the time the job became ready (added + delay). A job moved back by `failed retry`
 * keeps its original add time (BullMQ records no re-enqueue time), so it counts as old.
 */

export interface BacklogThresholds {
  /** Alert when a queue's backlog is larger than this. */
  maxSize?: number;
  /** Alert when a queue's oldest ready job has waited longer than this (ms). */
  maxWaitMs?: number;
}

export interface QueueSample {
  name: string;
  size: number;
  waiting: number;
  prioritized: number;
  delayedDue: number;
  active: number;
  isPaused: boolean;
  /** ms the oldest ready job has waited; null with no backlog. */
  oldestWaitMs: number | null;
  oldestJobId: string | null;
  /** Thresholds this queue crosses, e.g. ["size 20 > 5"]. */
  breaches: string[];
}

export interface BacklogSample {
  time: string;
  ok: boolean;
  queues: QueueSample[];
}

// BullMQ scores delayed jobs as `readyAt * 0x1000 + counter` (since v1).
const DELAY_SHIFT = 0x1000;

export async function sampleQueues(
  config: Config,
  client: RedisClient,
  names: readonly string[],
  thresholds: BacklogThresholds,
  now = Date.now(),
): Promise<BacklogSample> {
  const prefix = config.queue.prefix;
  const k = (q: string, s: string) => `${prefix}:${q}:${s}`;
  const pipe = client.pipeline();
  for (const q of names) {
    pipe
      .llen(k(q, 'wait'))
      .llen(k(q, 'paused'))
      .zcard(k(q, 'prioritized'))
      .zcount(k(q, 'delayed'), '-inf', now * DELAY_SHIFT - 1)
      .llen(k(q, 'active'))
      .hexists(k(q, 'meta'), 'paused')
      // Workers take from the tail of the wait list (RPOPLPUSH): the tail is the oldest job.
      .lrange(k(q, 'wait'), -2, -1)
      .lindex(k(q, 'paused'), -1)
      .zrange(k(q, 'prioritized'), '0', '0')
      .zrange(k(q, 'delayed'), '0', '0', 'WITHSCORES');
  }
  const PER = 10;
  const r = (await execPipeline(pipe)).map(([err, v]) => (err ? null : v));
  const perQueue = names.map((name, i) => {
    const at = (j: number) => r[i * PER + j];
    const waitTail = ((at(6) as string[] | null) ?? []).filter((id) => !id.startsWith('0:')); // BullMQ < 5 markers
    const candidates: { id: string; readyAt?: number }[] = [];
    if (waitTail.length) candidates.push({ id: waitTail[waitTail.length - 1] });
    if (at(7)) candidates.push({ id: at(7) as string });
    const prio = at(8) as string[] | null;
    if (prio && prio.length) candidates.push({ id: prio[0] });
    const del = at(9) as string[] | null;
    if (del && del.length === 2) {
      const readyAt = Math.floor(Number(del[1]) / DELAY_SHIFT);
      if (readyAt <= now) candidates.push({ id: del[0], readyAt });
    }
    return {
      name,
      waiting: Number(at(0) ?? 0) + Number(at(1) ?? 0),
      prioritized: Number(at(2) ?? 0),
      delayedDue: Number(at(3) ?? 0),
      active: Number(at(4) ?? 0),
      isPaused: Number(at(5) ?? 0) === 1,
      candidates,
    };
  });
  // The candidates' add times and delays, in one more round trip.
  const tpipe = client.pipeline();
  for (const q of perQueue) for (const c of q.candidates) tpipe.hmget(k(q.name, c.id), 'timestamp', 'delay');
  const times = (await execPipeline(tpipe)).map(([err, v]) => (err ? null : (v as (string | null)[])));
  let t = 0;
  const queues: QueueSample[] = perQueue.map((q) => {
    let oldestWaitMs: number | null = null;
    let oldestJobId: string | null = null;
    for (const c of q.candidates) {
      const tv = times[t++];
      const readyAt = c.readyAt ?? (tv && tv[0] ? Number(tv[0]) + (Number(tv[1]) || 0) : undefined);
      if (readyAt === undefined || !Number.isFinite(readyAt)) continue;
      const age = Math.max(0, now - readyAt);
      if (oldestWaitMs === null || age > oldestWaitMs) {
        oldestWaitMs = age;
        oldestJobId = c.id;
      }
    }
    const size = q.waiting + q.prioritized + q.delayedDue;
    const breaches: string[] = [];
    if (thresholds.maxSize !== undefined && size > thresholds.maxSize) breaches.push(`size ${size} > ${thresholds.maxSize}`);
    if (thresholds.maxWaitMs !== undefined && oldestWaitMs !== null && oldestWaitMs > thresholds.maxWaitMs)
      breaches.push(`oldest wait ${Math.round(oldestWaitMs / 1000)}s > ${Math.round(thresholds.maxWaitMs / 1000)}s`);
    return {
      name: q.name,
      size,
      waiting: q.waiting,
      prioritized: q.prioritized,
      delayedDue: q.delayedDue,
      active: q.active,
      isPaused: q.isPaused,
      oldestWaitMs,
      oldestJobId,
      breaches,
    };
  });
  return { time: new Date(now).toISOString(), ok: queues.every((q) => q.breaches.length === 0), queues };
}

export interface QueueMonitorOptions extends BacklogThresholds {
  queues?: readonly string[];
  intervalMs: number;
  /** One sample, then stop. */
  once?: boolean;
  /** Keep watching after a threshold is crossed (default: stop at the first crossing). */
  keepGoing?: boolean;
  onSample(sample: BacklogSample): void;
}

export interface QueueMonitorHandle {
  /** Resolves with the last sample's health when monitoring stops on its own or is closed. */
  done: Promise<{ ok: boolean; samples: number }>;
  close(): Promise<void>;
}

const REDISCOVER_MS = 60_000;

/**
 * Samples every `intervalMs` until closed, or until a threshold is crossed (so a CI step or a
 * supervised watchdog ends with exit 4 at the first crossing), or after one sample with `once`.
 * Without --queue, queue names are discovered again every minute: a queue created meanwhile is
 * watched too.
 */
export function startQueueMonitor(config: Config, client: RedisClient, opts: QueueMonitorOptions): QueueMonitorHandle {
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;
  let samples = 0;
  const done = (async () => {
    let ok = true;
    let names: readonly string[] = [];
    let discoveredAt = -Infinity;
    for (;;) {
      if (opts.queues && opts.queues.length) names = opts.queues;
      else if (Date.now() - discoveredAt >= REDISCOVER_MS) {
        // Discovery SCANs the whole keyspace: once a minute, not at every sample.
        names = await discoverQueues(config, client);
        discoveredAt = Date.now();
      }
      // A lost connection throws (exit 3): a watchdog never reports an empty queue it cannot see.
      const sample = await sampleQueues(config, client, names, opts);
      samples++;
      opts.onSample(sample);
      ok = sample.ok;
      if (opts.once || closed || (!sample.ok && !opts.keepGoing)) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, opts.intervalMs);
      });
      if (closed) break;
    }
    return { ok, samples };
  })();
  return {
    done,
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      wake?.();
      await done.catch(() => {});
    },
  };
}
