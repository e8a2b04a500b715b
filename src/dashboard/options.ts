import type { Config } from '../config/resolve.js';
import { usageError } from '../errors.js';

/** How `rqctl dashboard` (or `rqctl up`) serves the dashboard; flags over DASHBOARD_* over defaults. */
export interface DashboardOptions {
  host: string;
  /** 0 = any free port. */
  port: number;
  readOnly: boolean;
  /** '' for the root, else `/path` without a trailing slash. */
  basePath: string;
  credentials?: { user: string; password: string };
}

export interface DashboardFlags {
  host?: string;
  port?: number;
  readOnly?: boolean;
  basePath?: string;
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|::1|\[::1\])$/i;

export function isLoopback(host: string): boolean {
  return LOOPBACK.test(host.trim());
}

/** Checks everything before anything listens: a bad base path or a public host without credentials is exit 2. */
export function dashboardOptions(config: Config, flags: DashboardFlags = {}): DashboardOptions {
  const host = (flags.host ?? config.dashboard.host).trim();
  if (!host) throw usageError('--host is empty', 'give an interface address, e.g. --host 127.0.0.1');
  const basePath = normaliseBasePath(flags.basePath ?? '/');
  const { user, password } = config.dashboard;
  if ((user === undefined) !== (password === undefined)) {
    throw usageError(
      `${user === undefined ? 'DASHBOARD_PASSWORD' : 'DASHBOARD_USER'} is set but ${user === undefined ? 'DASHBOARD_USER' : 'DASHBOARD_PASSWORD'} is not`,
      'set both, or neither',
    );
  }
  const credentials = user !== undefined && password !== undefined ? { user, password } : undefined;
  if (!isLoopback(host) && !credentials) {
    throw usageError(
      `the dashboard would listen on ${host} without credentials`,
      'set DASHBOARD_USER and DASHBOARD_PASSWORD (HTTP basic auth), or keep the default --host 127.0.0.1 and reach it through an SSH tunnel',
    );
  }
  if (credentials && credentials.user.includes(':')) throw usageError('DASHBOARD_USER must not contain ":" (HTTP basic auth splits on it)');
  return { host, port: flags.port ?? config.dashboard.port, readOnly: flags.readOnly ?? config.dashboard.readOnly, basePath, credentials };
}

function normaliseBasePath(path: string): string {
  if (!path.startsWith('/')) throw usageError(`--base-path must start with "/" (got "${path}")`, 'e.g. --base-path /rqctl');
  if (/[\s?#%\\]|\/\/|(^|\/)\.\.?(\/|$)/.test(path)) throw usageError(`--base-path "${path}" is not a plain URL path`, 'use letters, digits, - _ . and /');
  return path.replace(/\/+$/, '');
}
