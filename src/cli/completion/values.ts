import type { Config } from '../../config/resolve.js';
import type { Candidate, TypedGlobals, ValueSource } from './complete.js';

/**
 * The installation's own values for completion: job types (bundled and extra modules), their
 * methods, queue names (the config's and those found in Redis), schedule entries and cache tags.
 * A TAB must answer at once: Redis gets COMPLETION_TIMEOUT_MS in all, and anything that fails (no
 * config, bad config, Redis down) silently gives nothing.
 */
export const COMPLETION_TIMEOUT_MS = 1000;

function within<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p.catch(() => fallback), new Promise<T>((r) => (timer = setTimeout(() => r(fallback), ms)))]).finally(() => clearTimeout(timer));
}

export function completionValues(globals: TypedGlobals, cwd: string): ValueSource {
  let config: Promise<Config | undefined> | undefined;
  const loadConfig = () =>
    (config ??= import('../../config/resolve.js')
      .then(
        (m) => m.resolveConfig({ flags: { config: globals.config, envFile: globals.envFile, redisUrl: globals.redisUrl }, cwd }),
        () => undefined,
      )
      .catch(() => undefined));
  let jobTypes: Promise<{ name: string; queue: string; description: string; methods?: readonly string[] }[]> | undefined;
  const loadJobs = () =>
    (jobTypes ??= (async () => {
      const [cfg, load, registry] = await Promise.all([loadConfig(), import('../../jobs/load.js'), import('../../jobs/registry.js')]);
      if (cfg) await load.loadJobTypes(cfg, cwd).catch(() => load.loadBundledJobTypes());
      else await load.loadBundledJobTypes();
      return registry.jobTypes();
    })().catch(() => []));

  return {
    jobs: async () => (await loadJobs()).map((t) => ({ value: t.name, description: t.description })),
    methods: async (job) => ((await loadJobs()).find((t) => t.name === job)?.methods ?? []).map((m) => ({ value: m })),
    queues: async () => {
      const cfg = await loadConfig();
      // The config's queues and Redis' (job types are not loaded: that costs more than the TAB is worth).
      const names = new Set<string>(cfg?.worker.queues ?? ['default', 'emails']);
      if (cfg) for (const q of await queuesInRedis(cfg).catch(() => [])) names.add(q);
      return [...names].sort().map((value) => ({ value }));
    },
    scheduleEntries: async () => {
      const cfg = await loadConfig();
      return (cfg?.schedule ?? []).map((e): Candidate => ({ value: e.name }));
    },
    cacheTags: async () => Object.keys((await loadConfig())?.cache.tags ?? {}).map((value) => ({ value })),
  };
}

/**
 * The queues under the prefix (BullMQ's `<prefix>:<name>:meta` keys), like `discoverQueues` but
 * without loading BullMQ, and within the time budget once the modules are loaded.
 */
async function queuesInRedis(cfg: Config): Promise<string[]> {
  const [{ connectRole, closeClient }, { scanBatches }, { globEscape }] = await Promise.all([
    import('../../redis/connect.js'),
    import('../../redis/scan.js'),
    import('../../redis/keyname.js'),
  ]);
  const prefix = cfg.queue.prefix;
  const scan = async () => {
    const client = await connectRole(cfg, 'queue', { connectTimeoutMs: COMPLETION_TIMEOUT_MS - 200 });
    try {
      const names: string[] = [];
      for await (const { keys } of scanBatches(client, { match: Buffer.concat([globEscape(prefix), Buffer.from(':*:meta')]) }))
        for (const k of keys) names.push(k.toString('utf8').slice(prefix.length + 1, -':meta'.length));
      return names;
    } finally {
      void closeClient(client);
    }
  };
  return within(scan(), COMPLETION_TIMEOUT_MS, []);
}
