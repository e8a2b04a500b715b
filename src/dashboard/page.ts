import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Hono } from 'hono';

/**
 * The overview page: one HTML file, its script and stylesheet (src/dashboard/public, copied beside
 * the built code by `npm run build`), and uPlot for the charts, served from node_modules: nothing
 * is loaded from another site. All of it is read once, at start.
 */

const publicDir = fileURLToPath(new URL('./public/', import.meta.url));
const uplotDir = join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');

interface Asset {
  body: string;
  type: string;
}

function readAssets(): Map<string, Asset> {
  const js = 'text/javascript; charset=utf-8';
  const css = 'text/css; charset=utf-8';
  return new Map<string, Asset>([
    ['app.js', { body: readFileSync(join(publicDir, 'app.js'), 'utf8'), type: js }],
    ['app.css', { body: readFileSync(join(publicDir, 'app.css'), 'utf8'), type: css }],
    ['uPlot.iife.min.js', { body: readFileSync(join(uplotDir, 'uPlot.iife.min.js'), 'utf8'), type: js }],
    ['uPlot.min.css', { body: readFileSync(join(uplotDir, 'uPlot.min.css'), 'utf8'), type: css }],
  ]);
}

const escapeAttr = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/** Adds `/`, `/assets/*` to `app` (which is mounted at the base path). */
export function addOverviewPage(app: Hono, opts: { basePath: string; readOnly: boolean }): void {
  const assets = readAssets();
  const html = readFileSync(join(publicDir, 'index.html'), 'utf8')
    .replace('{{base}}', escapeAttr(`${opts.basePath}/`))
    .replace('{{readOnly}}', opts.readOnly ? 'true' : 'false');
  app.get('/', (c) => {
    c.header('Cache-Control', 'no-cache');
    return c.html(html);
  });
  app.get('/assets/:name', (c) => {
    const a = assets.get(c.req.param('name'));
    if (!a) return c.notFound();
    c.header('Content-Type', a.type);
    c.header('Cache-Control', 'no-cache');
    return c.body(a.body);
  });
}
