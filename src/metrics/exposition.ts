import { Counter, Gauge, Histogram, Registry, type RegistryContentType } from 'prom-client';
import type { Config } from '../config/resolve.js';
import type { Role } from '../config/endpoints.js';
import type { RedisClient } from '../redis/connect.js';
import { withTimeout } from '../util/timeout.js';
import { QUEUE_ROLE_SERIES, SERIES, type HistogramSample, type Sample, type SeriesDefinition } from './collectors.js';
import { ScrapeSources } from './sources.js';

export interface RenderOptions {
  /** OpenMetrics instead of the Prometheus text format (the scraper's Accept asked for it). */
  openMetrics?: boolean;
  /**
   * A source that fails (a role down, a timeout) leaves its series out and is reported here. Without
   * it the first failure is thrown: `rqctl metrics --once` exits 3 rather than print half an answer.
   */
  onError?: (what: string, e: Error) => void;
  /** How long to wait for a SCAN-based figure never computed before (queues, cache keys); default 5 s. */
  discoveryWaitMs?: number;
  /** A bound on each series' reads (ms); default 10 s. */
  timeoutMs?: number;
}

export interface RenderedMetrics {
  contentType: string;
  body: string;
}

/** Whether an Accept header asks for OpenMetrics (Prometheus sends `application/openmetrics-text;…` first when it can read it). */
export function wantsOpenMetrics(accept: string | undefined): boolean {
  return !!accept && /application\/openmetrics-text/i.test(accept);
}

/**
 * The exposition of docs/metrics.md, read from Redis now: what `rqctl metrics` serves and what the
 * dashboard mounts at /metrics. `clients` are the caller's open clients per role; a role without one
 * is not reported, a role whose client is not connected reports `rqctl_redis_up 0` and the series that
 * need it are left out. Every call builds its own prom-client Registry: nothing is kept in this process.
 */
export async function renderMetrics(config: Config, clients: Partial<Record<Role, RedisClient>>, options: RenderOptions = {}): Promise<RenderedMetrics> {
  const sources = new ScrapeSources(config, clients, { onError: options.onError, discoveryWaitMs: options.discoveryWaitMs ?? 5000 });
  const registry = new Registry<RegistryContentType>();
  registry.setContentType(options.openMetrics ? Registry.OPENMETRICS_CONTENT_TYPE : Registry.PROMETHEUS_CONTENT_TYPE);
  const queueUp = sources.queueClient !== undefined;
  const collected = await Promise.all(
    SERIES.map(async (def) => {
      if (!queueUp && QUEUE_ROLE_SERIES.has(def.name)) {
        if (!options.onError && clients.queue) throw Object.assign(new Error('the queue role is not connected'), { code: 'ECONNREFUSED' });
        return { def, samples: [] };
      }
      try {
        const samples: (Sample | HistogramSample)[] = await withTimeout<(Sample | HistogramSample)[]>(
          def.collect(sources),
          options.timeoutMs ?? 10_000,
          `${def.name}: Redis did not answer within ${(options.timeoutMs ?? 10_000) / 1000} s`,
        );
        return { def, samples };
      } catch (e) {
        return { def, samples: sources.failed<(Sample | HistogramSample)[]>(def.name, e, []) };
      }
    }),
  );
  // A series with labels is declared even without samples (HELP and TYPE only); one without labels only with a value.
  for (const { def, samples } of collected)
    if (samples.length || (def.labelNames.length && (queueUp || !QUEUE_ROLE_SERIES.has(def.name)))) registerSeries(registry, def, samples);
  return { contentType: registry.contentType, body: await registry.metrics() };
}

function registerSeries(registry: Registry<RegistryContentType>, def: SeriesDefinition, samples: (Sample | HistogramSample)[]): void {
  const common = { name: def.name, help: def.help, labelNames: def.labelNames, registers: [registry] };
  if (def.type === 'histogram') {
    new KeptHistogram(common, samples as HistogramSample[]);
    return;
  }
  const metric = def.type === 'gauge' ? new Gauge(common) : new Counter(common);
  for (const s of samples as Sample[]) {
    if (metric instanceof Gauge) metric.set(s.labels, s.value);
    else metric.inc(s.labels, s.value);
  }
}

/**
 * A prom-client Histogram whose buckets come from Redis (the workers' counts) instead of `observe()`
 * in this process: `get()` hands the registry the cumulative buckets, the sum and the count.
 */
class KeptHistogram extends Histogram<string> {
  private readonly metricName: string;
  private readonly metricHelp: string;

  constructor(
    options: { name: string; help: string; labelNames: string[]; registers: Registry<RegistryContentType>[] },
    private readonly samples: HistogramSample[],
  ) {
    super({ ...options, buckets: [...(samples[0]?.bounds ?? [1])] });
    this.metricName = options.name;
    this.metricHelp = options.help;
  }

  /** What the registry formats (prom-client asks for this when it exists, `get()` otherwise). */
  getForPromString(): ReturnType<Histogram<string>['get']> {
    return this.get();
  }

  override async get(): ReturnType<Histogram<string>['get']> {
    const name = this.metricName;
    const values = this.samples.flatMap(({ labels, bounds, totals }) => {
      let cumulative = 0;
      const buckets = totals.buckets.map((n, i) => {
        cumulative += n;
        return { labels: { ...labels, le: i < bounds.length ? String(bounds[i]) : '+Inf' }, value: cumulative, metricName: `${name}_bucket` };
      });
      return [
        ...buckets,
        { labels, value: Math.round(totals.sumSeconds * 1000) / 1000, metricName: `${name}_sum` },
        { labels, value: totals.count, metricName: `${name}_count` },
      ];
    });
    return { name, help: this.metricHelp, type: 'histogram', aggregator: 'sum', values } as unknown as Awaited<ReturnType<Histogram<string>['get']>>;
  }
}
