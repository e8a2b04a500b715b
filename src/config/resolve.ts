import { existsSync, readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { parseEnv } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { ConfigError, usageError } from '../errors.js';
import { configSchema, type ParsedConfig } from './schema.js';
import { deriveRoles, type RoleEndpoints } from './endpoints.js';
import { validateScheduleEntries } from './cron.js';

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
  if (!isPlainObject(doc)) throw new ConfigError([`${path}: must be a mapping of settings`]);
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

  const parsed = configSchema.safeParse(raw);
  const problems: string[] = [];
  const where = (path: string) => {
    const src = sources.get(path);
    return src && src !== path ? `${path} (${src})` : path;
  };
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = issue.path.join('.');
      problems.push(`${where(path) || 'config'}: ${issue.message}`);
    }
    throw new ConfigError(problems);
  }
  const cfg = parsed.data;

  // CoinGecko's pro plan lives on another host.
  if (!cfg.providers.coingecko.baseUrl) {
    cfg.providers.coingecko.baseUrl = cfg.providers.coingecko.plan === 'pro' ? 'https://pro-api.coingecko.com/api/v3' : 'https://api.coingecko.com/api/v3';
  }

  const explicitlySet = (path: string) => sources.has(path);
  const derived = deriveRoles(cfg.redis, explicitlySet);
  for (const p of derived.problems) problems.push(`${where(p.path)}: ${p.message}`);
  for (const p of validateScheduleEntries(cfg.schedule)) problems.push(`${p.path}: ${p.message}`);
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
