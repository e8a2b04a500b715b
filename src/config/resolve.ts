import { existsSync, readFileSync } from 'node:fs';
import { basename, resolve as resolvePath } from 'node:path';
import { parseEnv } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { ConfigError, usageError } from '../errors.js';
import { configSchema, type ParsedConfig } from './schema.js';
import { deriveRoles, type RoleEndpoints } from './endpoints.js';
import { validateScheduleEntries } from './cron.js';
import { defaultRateLimits } from './rate-limits.js';
import { findUnknownKeys } from './unknown-keys.js';

/**
 * Configuration is resolved once, in this order: command-line flags > environment (including the
 * dotenv file) > config file > defaults. This module is the only reader of `process.env`.
 */

export interface GlobalFlags {
  config?: string;
  envFile?: string;
  redisUrl?: string;
}

export interface ResolveOptions {
  flags?: GlobalFlags;
  /** The process environment; tests pass their own. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export type Config = Readonly<
  ParsedConfig & {
    roles: RoleEndpoints;
    /** Where values came from, for `config show` and `rqctl up`. */
    sources: { configFile?: string; envFile?: string; redisConfigured: boolean };
  }
>;

/** env name → config path. The old stack's names, so an existing `.env.production` works unchanged. */
export const ENV_MAP: Record<string, string> = {
  REDIS_URL: 'redis.url',
  REDIS_HOST: 'redis.host',
  REDIS_PORT: 'redis.port',
  REDIS_USERNAME: 'redis.username',
  REDIS_PASSWORD: 'redis.password',
  REDIS_DB: 'redis.db',
  REDIS_CACHE_DB: 'redis.cacheDb',
  REDIS_SESSION_DB: 'redis.sessionDb',
  REDIS_QUEUE_URL: 'redis.queueUrl',
  REDIS_CACHE_URL: 'redis.cacheUrl',
  REDIS_SESSION_URL: 'redis.sessionUrl',
  REDIS_SENTINELS: 'redis.sentinels',
  REDIS_SENTINEL_MASTER: 'redis.sentinelMaster',
  REDIS_CLUSTER: 'redis.cluster',
  REDIS_CLUSTER_NODES: 'redis.clusterNodes',
  REDIS_CONNECT_TIMEOUT: 'redis.connectTimeoutMs',
  QUEUE_PREFIX: 'queue.prefix',
  CACHE_PREFIX: 'cache.prefix',
  CRYPTO_CACHE_DURATION: 'cache.cryptoDuration',
  STOCK_CACHE_DURATION: 'cache.stockDuration',
  COINGECKO_BASE_URL: 'providers.coingecko.baseUrl',
  COINGECKO_API_KEY: 'providers.coingecko.apiKey',
  COINGECKO_API_PLAN: 'providers.coingecko.plan',
  FINNHUB_BASE_URL: 'providers.finnhub.baseUrl',
  FINNHUB_API_KEY: 'providers.finnhub.apiKey',
  COINGECKO_RATE_LIMIT: 'limits.coingecko',
  FINNHUB_RATE_LIMIT: 'limits.finnhub',
  MAIL_HOST: 'mail.host',
  MAIL_PORT: 'mail.port',
  MAIL_USERNAME: 'mail.username',
  MAIL_PASSWORD: 'mail.password',
  MAIL_ENCRYPTION: 'mail.encryption',
  MAIL_FROM_ADDRESS: 'mail.fromAddress',
  MAIL_FROM_NAME: 'mail.fromName',
  ADMIN_EMAIL: 'mail.adminEmail',
  QUEUE_CONNECTION: 'env.queueConnection',
  CACHE_STORE: 'env.cacheStore',
  SESSION_DRIVER: 'env.sessionDriver',
  RQCTL_EXTRA_JOBS: 'jobs.modules',
  REDIS_ACL_WORKER_PASSWORD: 'acl.workerPassword',
  REDIS_ACL_APP_PASSWORD: 'acl.appPassword',
  REDIS_ACL_OPERATOR_PASSWORD: 'acl.operatorPassword',
  REDIS_ACL_HEALTHCHECK_PASSWORD: 'acl.healthcheckPassword',
  REDIS_ACL_SESSION_KEYS: 'acl.sessionKeys',
  RQCTL_METRICS_COUNTERS: 'metrics.counters',
  ALERT_WEBHOOK_URL: 'alerts.notify.webhook',
  ALERT_MAIL_TO: 'alerts.notify.mail',
  DASHBOARD_HOST: 'dashboard.host',
  DASHBOARD_PORT: 'dashboard.port',
  DASHBOARD_USER: 'dashboard.user',
  DASHBOARD_PASSWORD: 'dashboard.password',
  DASHBOARD_READ_ONLY: 'dashboard.readOnly',
};

/** Values that make Redis "configured" (otherwise `rqctl up` starts an embedded server). */
const REDIS_LOCATORS = ['REDIS_URL', 'REDIS_HOST', 'REDIS_QUEUE_URL', 'REDIS_SENTINELS', 'REDIS_CLUSTER_NODES'];

type Obj = Record<string, unknown>;

function setPath(target: Obj, path: string, value: unknown): void {
  const parts = path.split('.');
  let o = target;
  for (const p of parts.slice(0, -1)) {
    if (typeof o[p] !== 'object' || o[p] === null || Array.isArray(o[p])) o[p] = {};
    o = o[p] as Obj;
  }
  o[parts[parts.length - 1]] = value;
}

function isPlainObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep-merge `over` into `base` (arrays replace), recording the label of every leaf written. */
function mergeLayer(base: Obj, over: Obj, label: (path: string) => string, sources: Map<string, string>, prefix = ''): void {
  for (const [k, v] of Object.entries(over)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (isPlainObject(v)) {
      if (!isPlainObject(base[k])) base[k] = {};
      mergeLayer(base[k] as Obj, v, label, sources, path);
    } else {
      base[k] = v;
      sources.set(path, label(path));
    }
  }
}

function readConfigFile(path: string, explicit: boolean): Obj | undefined {
  if (!existsSync(path)) {
    if (explicit) throw usageError(`config file ${path} does not exist`, 'check the --config path');
    return undefined;
  }
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ConfigError([`${path}: not valid YAML: ${(e as Error).message.split('\n')[0]}`]);
  }
  if (doc == null) return {};
  if (!isPlainObject(doc)) throw new ConfigError([`${path}: must be a mapping of settings (is it an rqctl config file?)`]);
  // `--config docker-compose.prod.yml` is an easy slip: say what the file is rather than list its keys.
  if (isPlainObject(doc.services) && !Object.hasOwn(doc, 'redis'))
    throw new ConfigError([`${path}: this is a docker compose file, not an rqctl config (rqctl.config.yaml; see docs/configuration.md)`]);
  return doc;
}

function readEnvFile(path: string, explicit: boolean): Record<string, string> | undefined {
  if (!existsSync(path)) {
    if (explicit) throw usageError(`env file ${path} does not exist`, 'check the --env-file path');
    return undefined;
  }
  return parseEnv(readFileSync(path, 'utf8')) as Record<string, string>;
}

export function resolveConfig(options: ResolveOptions = {}): Config {
  const flags = options.flags ?? {};
  const cwd = options.cwd ?? process.cwd();
  const processEnv = options.env ?? process.env;

  const configPath = resolvePath(cwd, flags.config ?? 'rqctl.config.yaml');
  const fileDoc = readConfigFile(configPath, flags.config !== undefined);
  const envPath = resolvePath(cwd, flags.envFile ?? '.env');
  const dotenv = readEnvFile(envPath, flags.envFile !== undefined);

  // The real environment wins over the dotenv file, as with every dotenv loader.
  const env: Record<string, string | undefined> = { ...(dotenv ?? {}), ...processEnv };

  const raw: Obj = {};
  const sources = new Map<string, string>();
  if (fileDoc) mergeLayer(raw, fileDoc, (p) => `${configPath.split('/').pop()} ${p}`, sources);
  const envLayer: Obj = {};
  const envName = new Map<string, string>();
  for (const [name, path] of Object.entries(ENV_MAP)) {
    const v = env[name];
    if (v === undefined) continue;
    setPath(envLayer, path, v);
    envName.set(path, name);
  }
  mergeLayer(raw, envLayer, (p) => envName.get(p) ?? p, sources);
  if (flags.redisUrl !== undefined) mergeLayer(raw, { redis: { url: flags.redisUrl } }, () => '--redis-url', sources);

  const problems: string[] = [];
  const where = (path: string) => {
    const src = sources.get(path);
    return src && src !== path ? `${path} (${src})` : path;
  };
  // An empty flag is a mistake (an unset shell variable), not "use the default server".
  if (flags.redisUrl !== undefined && flags.redisUrl.trim() === '')
    problems.push('redis.url (--redis-url): is empty; give a URL such as redis://127.0.0.1:6379/0, or leave the flag out');
  if (fileDoc) {
    const fileName = basename(configPath);
    for (const u of findUnknownKeys(configSchema, fileDoc, ENV_MAP)) problems.push(`${u.path} (${fileName} ${u.path}): ${u.message}`);
  }
  const parsed = parseReportingAll(raw, where);
  problems.push(...parsed.problems);
  if (!parsed.cfg) throw new ConfigError(problems);
  const cfg = parsed.cfg;
  // Checks on the parsed values, also when some values were invalid (those are left at their
  // defaults for these checks, and what follows from them is not reported twice).
  const afterDefaults = (path: string) => !parsed.defaulted.some((d) => path === d || path.startsWith(`${d}.`));
  // CoinGecko's pro plan lives on another host.
  if (!cfg.providers.coingecko.baseUrl) {
    cfg.providers.coingecko.baseUrl = cfg.providers.coingecko.plan === 'pro' ? 'https://pro-api.coingecko.com/api/v3' : 'https://api.coingecko.com/api/v3';
  }

  // Providers the configuration leaves out keep their plan's published limits.
  cfg.limits = { ...defaultRateLimits(cfg.providers.coingecko.plan), ...cfg.limits };

  const explicitlySet = (path: string) => sources.has(path);
  const derived = deriveRoles(cfg.redis, explicitlySet, (path) => sources.get(path));
  for (const p of derived.problems) if (afterDefaults(p.path)) problems.push(`${where(p.path)}: ${p.message}`);
  for (const p of validateScheduleEntries(cfg.schedule)) if (afterDefaults(p.path)) problems.push(`${p.path}: ${p.message}`);
  if (problems.length) throw new ConfigError(problems);

  if (derived.roles.queue.kind === 'cluster' && !/\{.+\}/.test(cfg.queue.prefix)) {
    // BullMQ's Lua scripts touch several keys of a queue at once: on a cluster they must share a slot.
    cfg.queue.prefix = `{${cfg.queue.prefix}}`;
  }

  const redisConfigured = fileDoc?.redis !== undefined || flags.redisUrl !== undefined || REDIS_LOCATORS.some((n) => env[n] !== undefined && env[n] !== '');
  return deepFreeze({
    ...cfg,
    roles: derived.roles,
    sources: { configFile: fileDoc ? configPath : undefined, envFile: dotenv ? envPath : undefined, redisConfigured },
  });
}

/**
 * The schema over the merged sources, reporting every invalid value: each one found is taken out (so
 * its default applies) and the rest parsed again, until what is left parses. The config that comes
 * out serves the checks that need parsed values (URLs, Sentinel, schedule), so one run reports every
 * problem, not the first kind only. `defaulted`: the paths taken out (a list goes as a whole).
 */
function parseReportingAll(raw: Obj, where: (path: string) => string): { cfg?: ParsedConfig; problems: string[]; defaulted: string[] } {
  const work = structuredClone(raw);
  const problems: string[] = [];
  const defaulted: string[] = [];
  for (let round = 0; round < 10; round++) {
    const parsed = configSchema.safeParse(work);
    if (parsed.success) return { cfg: parsed.data, problems, defaulted };
    for (const issue of parsed.error.issues) {
      // Unknown keys are reported with a suggestion by findUnknownKeys (a strict object would repeat them).
      if (issue.code === 'unrecognized_keys') continue;
      const path = issue.path.map(String).join('.');
      problems.push(`${where(path) || 'config'}: ${issue.message}`);
    }
    const removed = parsed.error.issues.map((issue) => removeValue(work, issue.path.map(String))).filter((p): p is string => p !== undefined);
    if (removed.length === 0) return { problems, defaulted };
    defaulted.push(...removed);
  }
  return { problems, defaulted };
}

/** Deletes the value at `path` (a list as a whole: its indexes would shift); returns what was deleted. */
function removeValue(target: Obj, path: string[]): string | undefined {
  let o: unknown = target;
  for (let i = 0; i < path.length; i++) {
    if (!isPlainObject(o) || !Object.hasOwn(o, path[i])) return undefined;
    const next = o[path[i]];
    if (i === path.length - 1 || Array.isArray(next)) {
      delete o[path[i]];
      return path.slice(0, i + 1).join('.');
    }
    o = next;
  }
  return undefined;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

/** The same config with other Redis endpoints (used by `rqctl up` for its embedded server). */
export function withRedisUrl(config: Config, url: string, password?: string): Config {
  const redis = { ...config.redis, url, password, queueUrl: undefined, cacheUrl: undefined, sessionUrl: undefined, sentinels: undefined, cluster: false };
  const derived = deriveRoles(redis, () => false);
  return deepFreeze({ ...structuredClone(config), redis, roles: derived.roles, sources: { ...config.sources, redisConfigured: true } }) as Config;
}
