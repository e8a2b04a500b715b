import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';

/**
 * The dashboard's rules (docs/dashboard.md "Security"), each a Hono middleware:
 * - basic auth when credentials are set (always, off loopback), compared in constant time;
 * - on loopback, only loopback Host names (a DNS-rebinding page cannot pose as the dashboard);
 * - read-only: nothing but GET and HEAD, whatever the UI shows;
 * - a mutating request must come from the dashboard's own origin (bull-board's UI sends no token,
 *   so the browser's Origin / Referer / Sec-Fetch-Site headers decide).
 */

const SAFE_METHODS = new Set(['GET', 'HEAD']);

export const isSafeMethod = (method: string): boolean => SAFE_METHODS.has(method.toUpperCase());

const refuse = (c: Context, status: 401 | 403, error: string) => c.json({ ok: false, error }, status);

/** Same-length digests, so the comparison time says nothing about the length or the prefix of a guess. */
const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

export function basicAuth(credentials: { user: string; password: string }): MiddlewareHandler {
  const user = digest(credentials.user);
  const password = digest(credentials.password);
  return async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    let ok = false;
    if (m) {
      const decoded = Buffer.from(m[1], 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      if (i >= 0) {
        // Both compared, always: no early exit on a wrong user name.
        const userOk = timingSafeEqual(digest(decoded.slice(0, i)), user);
        const passwordOk = timingSafeEqual(digest(decoded.slice(i + 1)), password);
        ok = userOk && passwordOk;
      }
    }
    if (!ok) {
      c.header('WWW-Authenticate', 'Basic realm="rqctl dashboard", charset="UTF-8"');
      return refuse(c, 401, 'authentication required');
    }
    await next();
  };
}

const LOOPBACK_NAMES = /^(localhost|127(\.\d{1,3}){3}|\[::1\]|::1)$/i;

/** The host name of a Host header (`[::1]:7780` → `[::1]`, `localhost:7780` → `localhost`). */
export function hostName(host: string): string {
  const m = /^(\[[^\]]*\]|[^:]*)(:\d+)?$/.exec(host.trim());
  return m ? m[1] : host;
}

export function loopbackHostOnly(): MiddlewareHandler {
  return async (c, next) => {
    const host = c.req.header('host') ?? '';
    if (!LOOPBACK_NAMES.test(hostName(host))) return refuse(c, 403, `this dashboard listens on loopback only and does not answer for host "${host}"`);
    await next();
  };
}

export function readOnlyGuard(): MiddlewareHandler {
  return async (c, next) => {
    if (!isSafeMethod(c.req.method)) return refuse(c, 403, 'this dashboard is read-only (--read-only): only GET and HEAD are answered');
    await next();
  };
}

/** The origins this request's own page would have: http (or https behind a TLS proxy) + its Host. */
function ownOrigins(c: Context): string[] {
  const host = c.req.header('host');
  if (!host) return [];
  const origins = [`http://${host}`.toLowerCase()];
  if ((c.req.header('x-forwarded-proto') ?? '').toLowerCase() === 'https') origins.push(`https://${host}`.toLowerCase());
  return origins;
}

function originOf(url: string): string | null {
  try {
    return new URL(url).origin.toLowerCase();
  } catch {
    return null;
  }
}

export function sameOriginForChanges(): MiddlewareHandler {
  return async (c, next) => {
    if (isSafeMethod(c.req.method)) return next();
    if ((c.req.header('sec-fetch-site') ?? '').toLowerCase() === 'cross-site') return refuse(c, 403, 'cross-site request refused');
    const origin = c.req.header('origin');
    const referer = c.req.header('referer');
    // Origin wins when present ("null" from a sandboxed frame or a redirect counts as foreign).
    const claimed = origin !== undefined ? originOf(origin) : referer !== undefined ? originOf(referer) : null;
    if (claimed === null || !ownOrigins(c).includes(claimed)) {
      return refuse(c, 403, origin === undefined && referer === undefined ? 'a change needs an Origin or Referer header' : 'cross-origin request refused');
    }
    await next();
  };
}

/** Headers every answer carries: no framing, no sniffing, nothing loaded from elsewhere. */
export function securityHeaders(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('X-Frame-Options', 'DENY');
    c.header('Referrer-Policy', 'same-origin');
    c.header(
      'Content-Security-Policy',
      "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
    );
  };
}
