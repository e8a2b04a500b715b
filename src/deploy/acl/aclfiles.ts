import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config } from '../../config/resolve.js';
import { ExitCode, RqctlError } from '../../errors.js';
import { refuseSymlink, refuseSymlinksBelow, writeFileSafely } from '../../util/safe-write.js';
import { renderAclFile } from '../../redis/acl/aclfile.js';
import { ACL_FILE_NAMES, ACL_USERS, aclUsers, UNSAFE_PATTERN, type AclScope, type AclServer, type AclUserName } from '../../redis/acl/users.js';

/**
 * `rqctl config acl` and the aclfiles `rqctl deploy` writes before `up` (docs/acl.md): one file per
 * Redis server, the users of ./users.ts with their passwords as SHA-256 hashes, mode 0600.
 */

/** The environment variable each user's password comes from. */
export const PASSWORD_VARIABLES: Readonly<Record<AclUserName, string>> = {
  'rqctl-worker': 'REDIS_ACL_WORKER_PASSWORD',
  app: 'REDIS_ACL_APP_PASSWORD',
  operator: 'REDIS_ACL_OPERATOR_PASSWORD',
  healthcheck: 'REDIS_ACL_HEALTHCHECK_PASSWORD',
};

export interface AclSettings {
  scope: AclScope;
  passwords: Partial<Record<AclUserName, string>>;
}

export function aclSettingsFrom(config: Config): AclSettings {
  return {
    scope: { queuePrefix: config.queue.prefix, cachePrefix: config.cache.prefix, sessionKeys: config.acl.sessionKeys },
    passwords: {
      'rqctl-worker': config.acl.workerPassword,
      app: config.acl.appPassword,
      operator: config.acl.operatorPassword,
      healthcheck: config.acl.healthcheckPassword,
    },
  };
}

export const SERVERS_OF_TOPOLOGY: Readonly<Record<'split' | 'single', AclServer[]>> = { split: ['queue', 'cache'], single: ['single'] };

/** Every password set, every pattern writable into an aclfile; else exit 2 naming what is missing, before anything is written. */
function checkedPasswords(settings: AclSettings): Record<AclUserName, string> {
  const missing = ACL_USERS.filter((u) => !settings.passwords[u]).map((u) => PASSWORD_VARIABLES[u]);
  if (missing.length)
    throw new RqctlError(
      'ACL_PASSWORD_MISSING',
      ExitCode.usage,
      `${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not set: no aclfile was written`,
      {
        hint: 'set one password per ACL user in the environment or the .env file (e.g. `openssl rand -base64 32`); the files keep only their SHA-256 hashes',
        details: { missing },
      },
    );
  const { queuePrefix, cachePrefix, sessionKeys } = settings.scope;
  const bad = [
    ...(UNSAFE_PATTERN.test(queuePrefix) ? [`QUEUE_PREFIX "${queuePrefix}"`] : []),
    ...(UNSAFE_PATTERN.test(cachePrefix) ? [`CACHE_PREFIX "${cachePrefix}"`] : []),
    ...sessionKeys.filter((k) => UNSAFE_PATTERN.test(k) || k === '').map((k) => `REDIS_ACL_SESSION_KEYS "${k}"`),
  ];
  if (!sessionKeys.length) bad.push('REDIS_ACL_SESSION_KEYS (empty)');
  if (bad.length)
    throw new RqctlError('ACL_PATTERN_INVALID', ExitCode.usage, `cannot write ACL key patterns from ${bad.join(', ')}: no aclfile was written`, {
      hint: 'key prefixes and session patterns in aclfiles may not contain spaces, quotes or parentheses',
    });
  return settings.passwords as Record<AclUserName, string>;
}

export interface AclFile {
  /** users-queue.acl, users-cache.acl or users.acl. */
  name: string;
  server: AclServer;
  content: string;
  users: string[];
}

export function renderAclFiles(servers: readonly AclServer[], settings: AclSettings): AclFile[] {
  const passwords = checkedPasswords(settings);
  return servers.map((server) => {
    const users = aclUsers(server, settings.scope);
    return { name: ACL_FILE_NAMES[server], server, content: renderAclFile(users, passwords), users: ['default', ...users.map((u) => u.name)] };
  });
}

export interface WrittenAclFile {
  path: string;
  server: AclServer;
  users: string[];
  status: 'written' | 'unchanged';
}

/**
 * Writes one aclfile at `path`, mode 0600 from the first byte: through a temporary file beside it,
 * renamed into place (never through a symbolic link), so Redis never reads half a file and nobody else
 * can read the hashes.
 */
export function writeAclFile(path: string, file: AclFile): WrittenAclFile {
  const result = { path, server: file.server, users: file.users };
  refuseSymlink(path);
  if (existsSync(path) && readFileSync(path, 'utf8') === file.content) {
    chmodSync(path, 0o600);
    return { ...result, status: 'unchanged' };
  }
  writeFileSafely(path, file.content, { mode: 0o600 });
  return { ...result, status: 'written' };
}

export interface AclReport {
  outDir: string;
  topology: 'split' | 'single';
  files: WrittenAclFile[];
}

/** `rqctl config acl`: the aclfiles of a topology into `outDir` (default docker/). */
export function writeAclFiles(outDir: string, topology: 'split' | 'single', settings: AclSettings): AclReport {
  const files = renderAclFiles(SERVERS_OF_TOPOLOGY[topology], settings);
  mkdirSync(resolve(outDir), { recursive: true });
  // The folder is the operator's to name; a link at a file in it is refused (writeFileSafely).
  for (const f of files) refuseSymlinksBelow(outDir, join(outDir, f.name));
  // Paths as the operator gave them (docker/users-queue.acl), like `config generate` reports its files.
  return { outDir: resolve(outDir), topology, files: files.map((f) => writeAclFile(join(outDir, f.name), f)) };
}
