import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { timeout } from 'hono/timeout';
import type { Config } from '../config/resolve.js';
import type { EventLog } from '../runtime/events.js';
import { withTimeout } from '../util/timeout.js';
import { actionLog } from './actions.js';
import type { JobBrowser } from './job-browser.js';
import type { DashboardOptions } from './options.js';
import { isLoopback } from './options.js';
import type { OverviewCollector } from './overview/collector.js';
import { addOverviewPage } from './page.js';
import type { DashboardRedis } from './redis.js';
import { basicAuth, loopbackHostOnly, readOnlyGuard, sameOriginForChanges, securityHeaders } from './security.js';

export interface AppDeps {
  config: Config;
  options: DashboardOptions;
  redis: DashboardRedis;
  collector: OverviewCollector;
  jobBrowser: JobBrowser;
  log: EventLog;
}

/**
 * The dashboard's routes (docs/dashboard.md): `/healthz` (never behind auth), then auth, the action
 * log, read-only and same-origin rules for everything else: `/`, `/assets/*`, `/api/overview`,
 * `/queues/` (bull-board) and `/metrics` (the same exposition as `rqctl metrics`, docs/metrics.md).
 */
export function dashboardApp(deps: AppDeps): Hono {
  const { config, options, redis, collector, jobBrowser } = deps;
  // Not strict: `/queues` and `/queues/` are the same page.
  const app = new Hono({ strict: false });
  app.use('*', securityHeaders());
  if (isLoopback(options.host)) app.use('*', loopbackHostOnly());
  const base = options.basePath;
  if (base) app.get(base, (c) => c.redirect(`${base}/`, 301));

  const site = new Hono({ strict: false });
  site.get('/healthz', async (c) => {
    const problem = redis.problem('queue');
    if (problem !== null) return c.json({ ok: false, error: problem }, 503);
    try {
      await withTimeout(redis.client('queue').ping(), 2000, 'the queue role did not answer a PING within 2 s');
      return c.json({ ok: true });
    } catch (e) {
      return c.json({ ok: false, error: String((e as Error).message ?? e) }, 503);
    }
  });
  if (options.credentials) site.use('*', basicAuth(options.credentials));
  site.use(
    '*',
    actionLog(config, () => (redis.isReady('queue') ? redis.client('queue') : undefined), deps.log, options.credentials?.user),
  );
  if (options.readOnly) site.use('*', readOnlyGuard());
  site.use('*', sameOriginForChanges());
  site.use('*', async (c, next) => {
    await next();
    // A change through the job browser shows on the overview's next refresh.
    if (!['GET', 'HEAD'].includes(c.req.method) && c.res.status < 400) collector.invalidate();
  });

  addOverviewPage(site, { basePath: base, readOnly: options.readOnly });
  site.get('/api/overview', async (c) => {
    const overview = await collector.collect();
    jobBrowser.setQueues(overview.queues.map((q) => q.name));
    c.header('Cache-Control', 'no-store');
    return c.json(overview);
  });
  site.use('/queues/*', stripFontLink());
  // bull-board waits for Redis without a bound while it is down: answer 503 rather than hang.
  site.use(
    '/queues/api/*',
    timeout(15_000, () => new HTTPException(503, { message: redis.problem('queue') ?? 'Redis did not answer within 15 s' })),
  );
  site.route('/queues', jobBrowser.routes());
  site.get('/metrics', (c) => metricsRoute(c, config, redis, deps.log));
  app.route(base || '/', site);
  return app;
}

/**
 * `/metrics` behind the dashboard's auth: the figures come from Redis (docs/metrics.md), so this and
 * any `rqctl metrics` exporter answer the same. prom-client loads at the first scrape.
 */
async function metricsRoute(c: import('hono').Context, config: Config, redis: DashboardRedis, log: EventLog): Promise<Response> {
  const { renderMetrics, wantsOpenMetrics } = await import('../metrics/exposition.js');
  try {
    const m = await renderMetrics(config, redis.allClients(), {
      openMetrics: wantsOpenMetrics(c.req.header('accept')),
      onError: (what, e) => log({ level: 'debug', event: 'metrics.source-failed', source: what, msg: `${what}: ${e?.message}` }),
    });
    return c.body(m.body, 200, { 'content-type': m.contentType, 'cache-control': 'no-store' });
  } catch (e) {
    return c.text(`scrape failed: ${(e as Error).message}\n`, 500);
  }
}

/**
 * bull-board's page links a web font from a font CDN: the dashboard loads nothing from another
 * site (the CSP would block it anyway), so the link goes and the UI uses the system font.
 */
function stripFontLink() {
  return async (c: import('hono').Context, next: () => Promise<void>) => {
    await next();
    if (!(c.res.headers.get('content-type') ?? '').startsWith('text/html')) return;
    const html = await c.res.text();
    const headers = new Headers(c.res.headers);
    headers.delete('content-length');
    c.res = new Response(html.replace(/<link[^>]+href="https:\/\/fonts\.[^"]*"[^>]*>/g, ''), { status: c.res.status, headers });
  };
}
