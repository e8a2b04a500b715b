import { Job, QueueEvents } from 'bullmq';
import type { Config } from '../config/resolve.js';
import { ExitCode, RqctlError, redisRefusal, usageError } from '../errors.js';
import { closeClient, connectRole, type RedisClient } from '../redis/connect.js';
import { openQueue, queueConnection, quietErrors } from '../queue/queues.js';
import { queueNameProblem } from '../config/queue-names.js';
import { findUnsafeKey } from '../util/unsafe-keys.js';
import { formatIssues } from './define.js';
import { keyOf, type FetchPayload } from './fetch/job.js';
import { jobOptions } from './options.js';
import { getJobType } from './registry.js';
import type { JobType } from './types.js';
import type { JobsOptions } from 'bullmq';

/** `rqctl dispatch <Job> [method] [--param k=v]… [--data JSON] [--queue Q] [--delay] [--tries] [--backoff]`. */
export interface DispatchRequest {
  job: string;
  method?: string;
  params?: Record<string, string>;
  /** --data, unparsed. */
  data?: string;
  queue?: string;
  delayMs?: number;
  tries?: number;
  backoffSeconds?: number;
}

export interface PreparedDispatch {
  type: JobType<any>;
  queue: string;
  payload: unknown;
  opts: JobsOptions;
  /** For fetch jobs: the cache key the job writes. */
  cacheKey?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Builds and validates the payload without touching Redis: a payload that fails the job's schema is
 * refused here (exit 2) and nothing is enqueued. The stored payload is the schema's output (params
 * coerced to their types, defaults applied), so the worker computes the same cache key.
 */
export function prepareDispatch(config: Config, req: DispatchRequest): PreparedDispatch {
  const type = getJobType(req.job);
  let data: unknown;
  if (req.data !== undefined) {
    try {
      data = JSON.parse(req.data);
    } catch (e) {
      throw usageError(`--data is not valid JSON: ${(e as Error).message}`, `quote it for the shell, e.g. --data '{"params":{"page":2}}'`);
    }
    if (!isObject(data)) throw usageError('--data must be a JSON object');
    const unsafe = findUnsafeKey(data);
    if (unsafe)
      throw usageError(`--data: the key "${unsafe.split('.').pop()}" (at ${unsafe}) is not allowed`, 'rename the key: it would be dropped or misread');
  }
  if (req.method !== undefined && !type.methods?.length) {
    throw usageError(`${type.name} takes no method (got "${req.method}")`, `rqctl dispatch ${type.name} [--data JSON]`);
  }
  const params = req.params ?? {};
  const raw = type.fromCli ? type.fromCli(req.method, params, data) : { ...(isObject(data) ? data : {}), ...params };
  const parsed = type.schema.safeParse(raw);
  if (!parsed.success) {
    const problems = formatIssues(parsed.error);
    throw new RqctlError(
      'INVALID_PAYLOAD',
      ExitCode.usage,
      `invalid payload for ${type.name}: ${problems.length === 1 ? problems[0] : `\n  ${problems.join('\n  ')}`}`,
      {
        hint: type.methods?.length
          ? `see \`rqctl jobs ${type.name}\` for its ${type.name.startsWith('Fetch') ? 'methods and params' : 'methods'}`
          : 'see `rqctl jobs`',
        details: { problems },
      },
    );
  }
  const queue = req.queue ?? type.queue;
  const queueProblem = queueNameProblem(queue);
  if (queueProblem) throw usageError(queueProblem, "use the job type's queue (see `rqctl jobs`) or another name");
  const opts = jobOptions(type, config, { tries: req.tries, backoffSeconds: req.backoffSeconds, delayMs: req.delayMs });
  const payload = parsed.data;
  const cacheKey = type.name === 'FetchCryptoData' || type.name === 'FetchStockData' ? keyOf(config, payload as FetchPayload).key : undefined;
  return { type, queue, payload, opts, cacheKey };
}

export interface DispatchResult {
  id: string;
  queue: string;
  name: string;
  delayMs?: number;
  /** Fetch jobs: the key the job writes. */
  key?: string;
}

export interface WaitResult extends DispatchResult {
  state: 'completed' | 'failed' | 'timeout';
  returnvalue?: unknown;
  failedReason?: string;
  attemptsMade?: number;
  /** From processedOn (first attempt) to finishedOn. */
  durationMs?: number;
  /** When it timed out: the state the job was left in. */
  jobState?: string;
}

export interface DispatchOptions {
  /** --wait: how long to wait for the job to finish, ms. */
  waitMs?: number;
  onWaiting?: (r: DispatchResult) => void;
  /** An open queue-role client to reuse (the caller closes it); otherwise one is opened and closed. */
  client?: RedisClient;
}

async function openEvents(config: Config, queue: string): Promise<{ events: QueueEvents; client?: RedisClient }> {
  // QueueEvents blocks on XREAD: it gets its own connection (worker options, maxRetriesPerRequest null).
  const client = config.roles.queue.kind === 'cluster' ? await connectRole(config, 'queue', { use: 'worker' }) : undefined;
  const events = quietErrors(new QueueEvents(queue, { connection: queueConnection(config, 'worker', client), prefix: config.queue.prefix }));
  events.on('error', () => {});
  await events.waitUntilReady();
  return { events, client };
}

/** Enqueues a prepared job; with `waitMs`, waits for it to complete or fail. */
export async function dispatch(config: Config, prepared: PreparedDispatch, options: DispatchOptions = {}): Promise<WaitResult | DispatchResult> {
  const client = options.client ?? (await connectRole(config, 'queue'));
  const queue = openQueue(config, prepared.queue, client);
  let ev: { events: QueueEvents; client?: RedisClient } | undefined;
  try {
    // Subscribe before adding, so a job that finishes at once is not missed.
    if (options.waitMs !== undefined) ev = await openEvents(config, prepared.queue);
    const job = await queue.add(prepared.type.name, prepared.payload, prepared.opts).catch((e: unknown) => {
      // BullMQ adds a job in one script, refused before its first write: nothing is half-written.
      throw redisRefusal(e, `Redis at ${config.roles.queue.display} (queue role)`, 'nothing was enqueued') ?? e;
    });
    const result: DispatchResult = {
      id: String(job.id),
      queue: prepared.queue,
      name: prepared.type.name,
      ...(prepared.opts.delay ? { delayMs: prepared.opts.delay } : {}),
      ...(prepared.cacheKey ? { key: prepared.cacheKey } : {}),
    };
    if (!ev) return result;
    options.onWaiting?.(result);
    const outcome = await waitForFinish(ev.events, job, options.waitMs!);
    const fresh = await Job.fromId(queue, result.id).catch(() => undefined);
    const timing = fresh?.processedOn && fresh.finishedOn ? { durationMs: fresh.finishedOn - fresh.processedOn } : {};
    if (outcome.state === 'timeout') return { ...result, state: 'timeout', jobState: await job.getState().catch(() => 'unknown') };
    if (outcome.state === 'completed')
      return { ...result, state: 'completed', returnvalue: fresh?.returnvalue ?? outcome.returnvalue, attemptsMade: fresh?.attemptsMade, ...timing };
    return { ...result, state: 'failed', failedReason: fresh?.failedReason ?? outcome.failedReason, attemptsMade: fresh?.attemptsMade, ...timing };
  } finally {
    if (ev) {
      await ev.events.close().catch(() => {});
      await closeClient(ev.client);
    }
    await queue.close().catch(() => {});
    if (!options.client) await closeClient(client);
  }
}

/**
 * `dispatch --wait` that did not end in success: exit 4 with what happened and what to do (the job
 * failed, or is still queued when the wait ran out). Undefined for a completed or unwaited job.
 */
export function waitOutcomeError(r: WaitResult | DispatchResult, waitMs: number | undefined): RqctlError | undefined {
  if (!('state' in r)) return undefined;
  if (r.state === 'failed') {
    const attempts = r.attemptsMade ? ` after ${r.attemptsMade} attempt${r.attemptsMade === 1 ? '' : 's'}` : '';
    return new RqctlError('JOB_FAILED', ExitCode.checkFailed, `job ${r.id} (${r.name}) failed${attempts}: ${r.failedReason ?? 'no reason recorded'}`, {
      hint: `\`rqctl failed show ${r.id}\` has the details; \`rqctl failed retry ${r.id}\` runs it again`,
    });
  }
  if (r.state === 'timeout') {
    return new RqctlError(
      'WAIT_TIMEOUT',
      ExitCode.checkFailed,
      `job ${r.id} (${r.name}) did not finish within ${Math.round(waitMs! / 1000)} s (it is ${r.jobState}; it stays queued)`,
      {
        hint:
          r.jobState === 'waiting' || r.jobState === 'prioritized'
            ? `is a worker consuming queue "${r.queue}"? (\`rqctl workers\`)`
            : 'wait longer with --timeout',
      },
    );
  }
  return undefined;
}

/** One job of a bulk dispatch: the payload as the job type's schema takes it (not command-line strings). */
export interface BulkDispatchItem {
  job: string;
  data: unknown;
  queue?: string;
  delayMs?: number;
  tries?: number;
  backoffSeconds?: number;
  /** A BullMQ job id, to make a re-run of the same import add nothing twice. */
  jobId?: string;
}

export interface BulkDispatchOptions {
  /** An open queue-role client to reuse (the caller closes it); otherwise one is opened and closed. */
  client?: RedisClient;
}

/**
 * Enqueues many jobs at once (an import, a backfill, a replay). Every payload is validated first and
 * one that fails its schema refuses the whole batch (exit 2, nothing enqueued); then one `addBulk`
 * per queue, which BullMQ sends as a single MULTI. Job options are computed once per job type and
 * shared, so what rqctl adds per job is the schema check. Each job is added atomically, the batch is
 * not: a server that runs out of memory halfway keeps the jobs added before (the error says so).
 */
export async function dispatchBulk(config: Config, items: readonly BulkDispatchItem[], options: BulkDispatchOptions = {}): Promise<DispatchResult[]> {
  const byQueue = new Map<string, { index: number; name: string; data: unknown; opts: JobsOptions; key?: string }[]>();
  const shared = new Map<string, JobsOptions>();
  items.forEach((item, index) => {
    const type = getJobType(item.job);
    const parsed = type.schema.safeParse(item.data);
    if (!parsed.success) {
      const problems = formatIssues(parsed.error);
      throw new RqctlError(
        'INVALID_PAYLOAD',
        ExitCode.usage,
        `item ${index + 1}: invalid payload for ${type.name}: ${problems.join('; ')}; nothing was enqueued`,
        {
          hint: 'see `rqctl jobs`',
          details: { index, problems },
        },
      );
    }
    const queue = item.queue ?? type.queue;
    if (!queue || queue.includes(':'))
      throw usageError(`item ${index + 1}: invalid queue name "${queue}" (must not be empty or contain ":"); nothing was enqueued`);
    const plain = item.delayMs === undefined && item.tries === undefined && item.backoffSeconds === undefined && item.jobId === undefined;
    let opts = plain ? shared.get(type.name) : undefined;
    if (!opts) {
      opts = jobOptions(type, config, { tries: item.tries, backoffSeconds: item.backoffSeconds, delayMs: item.delayMs, jobId: item.jobId });
      if (plain) shared.set(type.name, opts);
    }
    const key = type.name === 'FetchCryptoData' || type.name === 'FetchStockData' ? keyOf(config, parsed.data as FetchPayload).key : undefined;
    let list = byQueue.get(queue);
    if (!list) byQueue.set(queue, (list = []));
    list.push({ index, name: type.name, data: parsed.data, opts, key });
  });
  const client = options.client ?? (await connectRole(config, 'queue'));
  const results: DispatchResult[] = new Array(items.length);
  try {
    for (const [name, list] of byQueue) {
      const queue = openQueue(config, name, client);
      try {
        const jobs = await queue.addBulk(list.map((j) => ({ name: j.name, data: j.data, opts: j.opts }))).catch((e: unknown) => {
          const before = [...results].filter(Boolean).length;
          throw (
            redisRefusal(
              e,
              `Redis at ${config.roles.queue.display} (queue role)`,
              `${before} jobs were enqueued before, this batch of ${list.length} for queue ${name} may be partly enqueued`,
            ) ?? e
          );
        });
        jobs.forEach((job, i) => {
          const j = list[i];
          results[j.index] = {
            id: String(job.id),
            queue: name,
            name: j.name,
            ...(j.opts.delay ? { delayMs: j.opts.delay } : {}),
            ...(j.key ? { key: j.key } : {}),
          };
        });
      } finally {
        await queue.close().catch(() => {});
      }
    }
  } finally {
    if (!options.client) await closeClient(client);
  }
  return results;
}

type Outcome = { state: 'completed'; returnvalue?: unknown } | { state: 'failed'; failedReason?: string } | { state: 'timeout' };

function waitForFinish(events: QueueEvents, job: Job, timeoutMs: number): Promise<Outcome> {
  const id = String(job.id);
  return new Promise((resolve) => {
    let settled = false;
    let poll: NodeJS.Timeout | undefined;
    const done = (o: Outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(poll);
      events.off('completed', onCompleted);
      events.off('failed', onFailed);
      resolve(o);
    };
    const onCompleted = (e: { jobId: string; returnvalue: unknown }) => {
      if (e.jobId === id) done({ state: 'completed', returnvalue: e.returnvalue });
    };
    // 'failed' is emitted only when the job is moved to failed: retries in between do not end the wait.
    const onFailed = (e: { jobId: string; failedReason: string }) => {
      if (e.jobId === id) done({ state: 'failed', failedReason: e.failedReason });
    };
    const timer = setTimeout(() => done({ state: 'timeout' }), timeoutMs);
    events.on('completed', onCompleted);
    events.on('failed', onFailed);
    // QueueEvents reads the event stream from "now" once its first XREAD runs: a job that finishes
    // before that would be missed, so the state is also checked now and then.
    const check = () => {
      if (settled) return;
      job
        .getState()
        .then((s) => {
          if (s === 'completed') done({ state: 'completed' });
          else if (s === 'failed') done({ state: 'failed' });
          else if (!settled) poll = setTimeout(check, 1000);
        })
        .catch(() => {
          if (!settled) poll = setTimeout(check, 1000);
        });
    };
    check();
  });
}
