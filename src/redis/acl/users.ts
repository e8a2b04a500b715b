import { globEscape } from '../keyname.js';
import {
  BULLMQ_CLIENT_COMMANDS,
  BULLMQ_SCRIPT_COMMANDS,
  CACHE_READER_COMMANDS,
  CACHE_WRITER_COMMANDS,
  CONNECTION_COMMANDS,
  DOCTOR_COMMANDS,
  OPERATOR_DENIED,
  PRODUCER_COMMANDS,
  PROVIDER_LIMIT_COMMANDS,
  RQCTL_QUEUE_COMMANDS,
  SCRIPT_COMMANDS,
  SESSION_COMMANDS,
} from './commands.js';

/**
 * The ACL users of the generated stack and the rules each one gets on each Redis server (docs/acl.md
 * explains every rule). `rqctl config acl` writes them as aclfiles, `rqctl config validate` judges
 * aclfiles against the same ideas, `rqctl doctor` probes a live server for what a role needs.
 *
 * ACL rules cannot name a DB: a user allowed `~session:*` may touch `session:*` in every DB of the
 * server. Users are therefore told apart by key patterns: the queue prefix, the raffle keys, the cache
 * prefix (or the cache key families when it is empty and the cache shares a server), the session keys.
 */
export const ACL_USERS = ['rqctl-worker', 'app', 'operator', 'healthcheck'] as const;
export type AclUserName = (typeof ACL_USERS)[number];

/** Which server an aclfile is for: the split topology's queue server (queue + sessions) or cache server, or the single topology's one server. */
export type AclServer = 'queue' | 'cache' | 'single';

export const ACL_FILE_NAMES: Readonly<Record<AclServer, string>> = { queue: 'users-queue.acl', cache: 'users-cache.acl', single: 'users.acl' };

/** The aclfile names rqctl writes, and the server each is for. */
export function aclServerOfFile(name: string): AclServer | undefined {
  return (Object.keys(ACL_FILE_NAMES) as AclServer[]).find((s) => ACL_FILE_NAMES[s] === name);
}

/** What the key patterns are made of. */
export interface AclScope {
  queuePrefix: string;
  cachePrefix: string;
  /** Glob patterns of the app's session keys (REDIS_ACL_SESSION_KEYS). */
  sessionKeys: readonly string[];
}

/** A set of rules that apply together: key patterns (`~pattern`, `%R~pattern`) and the commands allowed on them. */
export interface AclSelector {
  keys: string[];
  commands: readonly string[];
}

export interface AclUserRules {
  name: AclUserName;
  /** The root rules: the user's first selector. */
  root: AclSelector & { allCommands?: boolean; denied?: readonly string[] };
  /** Further selectors (Redis 7): other keys with other commands, e.g. the app's sessions. */
  selectors: AclSelector[];
}

/**
 * The families of the cache key contract all start with one of these (src/cache/families.ts; a test
 * checks it). Used when CACHE_PREFIX is empty and the cache shares a server with the queue: the cache
 * keys must still be told apart from the queue's and the sessions'.
 */
export const CACHE_FAMILY_STARTS = ['crypto_', 'stock_', 'market_news_'] as const;

/** A literal prefix as the start of an ACL key pattern. */
function literal(prefix: string): string {
  return globEscape(prefix).toString('utf8');
}

/** The provider rate limits' keys (docs/rate-limits.md): `<QUEUE_PREFIX>:rqctl:limits:<provider>:…`. */
function limitKeyPattern(scope: AclScope): string {
  return `${literal(scope.queuePrefix)}:rqctl:limits:*`;
}

export function queueKeyPatterns(scope: AclScope): string[] {
  return [`${literal(scope.queuePrefix)}:*`, 'raffles', 'raffle:*'];
}

/** The cache keys: everything under CACHE_PREFIX on a cache server of its own; the families, too, when the server is shared and the prefix empty. */
export function cacheKeyPatterns(scope: AclScope, server: AclServer): string[] {
  if (scope.cachePrefix !== '' || server === 'cache') return [`${literal(scope.cachePrefix)}*`];
  return CACHE_FAMILY_STARTS.map((f) => `${f}*`);
}

const unique = (...lists: (readonly string[])[]) => [...new Set(lists.flat())];

const WORKER_QUEUE = unique(
  CONNECTION_COMMANDS,
  SCRIPT_COMMANDS,
  BULLMQ_SCRIPT_COMMANDS,
  BULLMQ_CLIENT_COMMANDS,
  RQCTL_QUEUE_COMMANDS,
  PROVIDER_LIMIT_COMMANDS,
  DOCTOR_COMMANDS,
);
const WORKER_CACHE = unique(CONNECTION_COMMANDS, CACHE_WRITER_COMMANDS, DOCTOR_COMMANDS);
const APP_QUEUE = unique(CONNECTION_COMMANDS, SCRIPT_COMMANDS, PRODUCER_COMMANDS);
const APP_CACHE = unique(CONNECTION_COMMANDS, CACHE_READER_COMMANDS);

const tilde = (patterns: string[], mode = '') => patterns.map((p) => `${mode}~${p}`);

function worker(server: AclServer, scope: AclScope): AclUserRules {
  if (server === 'cache') return { name: 'rqctl-worker', root: { keys: tilde(cacheKeyPatterns(scope, server)), commands: WORKER_CACHE }, selectors: [] };
  const root = { keys: tilde(queueKeyPatterns(scope)), commands: WORKER_QUEUE };
  if (server === 'queue') return { name: 'rqctl-worker', root, selectors: [] };
  return { name: 'rqctl-worker', root, selectors: [{ keys: tilde(cacheKeyPatterns(scope, server)), commands: CACHE_WRITER_COMMANDS }] };
}

function app(server: AclServer, scope: AclScope): AclUserRules {
  const sessions: AclSelector = { keys: tilde([...scope.sessionKeys]), commands: SESSION_COMMANDS };
  const cacheReads: AclSelector = { keys: tilde(cacheKeyPatterns(scope, server), '%R'), commands: CACHE_READER_COMMANDS };
  if (server === 'cache') return { name: 'app', root: { keys: cacheReads.keys, commands: APP_CACHE }, selectors: [] };
  // The provider-limit script's commands on its keys only: a permit from the app's budget never lets it trim a queue's zsets.
  const permits: AclSelector = { keys: tilde([limitKeyPattern(scope)]), commands: PROVIDER_LIMIT_COMMANDS };
  const root = { keys: tilde([`${literal(scope.queuePrefix)}:*`]), commands: APP_QUEUE };
  return { name: 'app', root, selectors: server === 'queue' ? [sessions, permits] : [sessions, permits, cacheReads] };
}

/** The users of one server's aclfile, in the order they are written (the default user, off, is written before them). */
export function aclUsers(server: AclServer, scope: AclScope): AclUserRules[] {
  return [
    worker(server, scope),
    app(server, scope),
    { name: 'operator', root: { keys: ['~*'], commands: [], allCommands: true, denied: OPERATOR_DENIED }, selectors: [] },
    { name: 'healthcheck', root: { keys: [], commands: ['ping', 'info'] }, selectors: [] },
  ];
}

/** What may not appear in a key pattern or session pattern: it would split or end the aclfile's rule. */
export const UNSAFE_PATTERN = /[\s"'()]/;
