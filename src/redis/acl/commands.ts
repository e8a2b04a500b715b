/**
 * The Redis commands each part of the stack sends, grouped by why (docs/acl.md). The ACL users of
 * the generated stack are made of these groups (./users.ts); `rqctl doctor` probes them with ACL
 * DRYRUN (./probes.ts). ACL names: lower case, `container|subcommand` for subcommands.
 *
 * AUTH, HELLO and QUIT need no rule: Redis lets every user run them.
 */

/**
 * What every connection sends before its first real command: SELECT of the role's DB, the name shown
 * by CLIENT LIST (CLIENT SETNAME), INFO (ioredis' ready check, BullMQ's version check, rqctl's cluster
 * check), CLIENT INFO (rqctl confirms the DB it selected), and PING. (rqctl turns off ioredis' CLIENT
 * SETINFO: Redis 7.0 has no such command, and an aclfile naming a command the server does not know
 * stops the server from starting.)
 */
export const CONNECTION_COMMANDS = ['ping', 'select', 'info', 'client|setname', 'client|info'] as const;

/**
 * Lua: BullMQ and rqctl send EVALSHA and fall back to EVAL when the server does not know the script
 * yet (ioredis sends EVAL first on each new connection). Redis checks every command a script runs, and
 * every key it touches, against the same user: a script is no way around the rules below.
 */
export const SCRIPT_COMMANDS = ['evalsha', 'eval', 'script|load', 'script|exists'] as const;

/**
 * Every command BullMQ 6's Lua scripts call (node_modules/bullmq/dist/esm/commands/*.lua and their
 * includes). test/integration/acl-rules.test.ts reads the scripts and fails when a BullMQ upgrade
 * calls a command this list lacks, before a production worker would hit NOPERM.
 */
export const BULLMQ_SCRIPT_COMMANDS = [
  'del',
  'exists',
  'get',
  'hdel',
  'hexists',
  'hget',
  'hgetall',
  'hincrby',
  'hlen',
  'hmget',
  'hmset',
  'hscan',
  'hset',
  'incr',
  'incrby',
  'lindex',
  'llen',
  'lpop',
  'lpos',
  'lpush',
  'lrange',
  'lrem',
  'lset',
  'ltrim',
  'persist',
  'pexpire',
  'pexpireat',
  'pttl',
  'rename',
  'rpop',
  'rpoplpush',
  'rpush',
  'sadd',
  'scard',
  'set',
  'sismember',
  'smembers',
  'srem',
  'sscan',
  'time',
  'type',
  'unlink',
  'xadd',
  'xdel',
  'xlen',
  'xrange',
  'xread',
  'xtrim',
  'zadd',
  'zcard',
  'zcount',
  'zlexcount',
  'zpopmin',
  'zrange',
  'zrangebylex',
  'zrangebyscore',
  'zrem',
  'zremrangebyrank',
  'zremrangebyscore',
  'zrevrange',
  'zrevrangebyscore',
  'zscore',
] as const;

/**
 * What BullMQ's classes send outside Lua: the worker's blocking wait for a job (BZPOPMIN on the
 * marker key), QueueEvents' stream reads (XREAD BLOCK; `dispatch --wait`), transactions, and the job
 * and queue getters (HGETALL of a job, ZRANGE of a state…; all in BULLMQ_SCRIPT_COMMANDS already).
 */
export const BULLMQ_CLIENT_COMMANDS = ['bzpopmin', 'xread', 'multi', 'exec'] as const;

/**
 * rqctl's own calls in the queue role besides the above (all but SCAN and EXPIRE are in
 * BULLMQ_SCRIPT_COMMANDS too): worker and scheduler heartbeats (SET … EX, ZADD, ZREMRANGEBYSCORE,
 * PEXPIRE in MULTI), the workers' metrics counters (HINCRBY, and EXPIRE of the per-minute hash, in
 * MULTI), `worker restart` (TIME, SET), tick, refresh and alert locks (SET NX PX, scripts), the raffle
 * jobs (SSCAN, HGETALL, SCARD, LLEN, scripts) and queue discovery (SCAN for `<prefix>:*:meta`).
 */
export const RQCTL_QUEUE_COMMANDS = ['scan', 'expire'] as const;

/**
 * Every command the provider-limit script (src/limits/provider-limit.lua) calls: one permit per
 * request (TIME, the log and line zsets), the pause after a 429 (SET … PX, DEL), the throttle and 429
 * counts (HINCRBY, PEXPIRE; HLEN, HKEYS, HDEL to drop old minutes) and `rqctl limits` (HGETALL,
 * ZCOUNT). All but HKEYS are in BULLMQ_SCRIPT_COMMANDS too. The worker runs it on its queue keys; the
 * app (the PHP site taking its calls from the same budget) only on `<prefix>:rqctl:limits:*`.
 * test/integration/acl-rules.test.ts reads the script and fails when it calls a command this lacks.
 */
export const PROVIDER_LIMIT_COMMANDS = [
  'time',
  'get',
  'set',
  'del',
  'exists',
  'hincrby',
  'pexpire',
  'hlen',
  'hkeys',
  'hdel',
  'hgetall',
  'zadd',
  'zcard',
  'zcount',
  'zrange',
  'zrangebyscore',
  'zrem',
  'zremrangebyscore',
  'zscore',
] as const;

/**
 * The fetch jobs' cache writes (`SET key value EX ttl`), and the reads the app container's other
 * programs make there: `rqctl doctor`'s key sampling (SCAN, TTL), the dashboard's key count (DBSIZE).
 */
export const CACHE_WRITER_COMMANDS = ['set', 'get', 'exists', 'type', 'ttl', 'pttl', 'scan', 'strlen', 'dbsize'] as const;

/** `rqctl doctor`, run inside the app container as rqctl-worker by `rqctl deploy`: who am I, and may I run what my role needs. */
export const DOCTOR_COMMANDS = ['acl|whoami', 'acl|dryrun', 'command|info'] as const;

/** The app's reads of the API cache: the values as stored, and their TTL. */
export const CACHE_READER_COMMANDS = ['get', 'mget', 'exists', 'ttl', 'pttl', 'type', 'strlen'] as const;

/** The app's sessions: strings with a TTL, as Laravel's, express-session's and most frameworks' Redis session stores keep them. */
export const SESSION_COMMANDS = [
  'get',
  'set',
  'setex',
  'psetex',
  'getex',
  'getdel',
  'mget',
  'del',
  'unlink',
  'exists',
  'expire',
  'pexpire',
  'ttl',
  'pttl',
  'persist',
  'type',
] as const;

/**
 * What adding a job takes: BullMQ's add scripts (addStandardJob, addDelayedJob, addPrioritizedJob,
 * addParentJob) and, to wait for the result like `rqctl dispatch --wait`, getState, isFinished,
 * HGETALL of the job and XREAD of the queue's events. The scripts write the queue's lists, sets,
 * hashes and event stream: Redis has no way to allow a write only from inside a script.
 */
export const PRODUCER_COMMANDS = [
  'del',
  'exists',
  'get',
  'hget',
  'hgetall',
  'hmget',
  'hmset',
  'hset',
  'incr',
  'llen',
  'lpos',
  'lpush',
  'lrange',
  'persist',
  'pttl',
  'rpush',
  'sadd',
  'scard',
  'set',
  'xadd',
  'xread',
  'zadd',
  'zrange',
  'zrem',
  'zrevrangebyscore',
  'zscore',
] as const;

/**
 * Never for anyone but the operator, and some not even for the operator (./users.ts): commands that
 * wipe data, stall the server (KEYS walks the whole keyspace in one call; rqctl uses SCAN), or change
 * the server's configuration, users, modules or process.
 */
export const OPERATOR_DENIED = ['flushdb', 'flushall', 'debug', 'shutdown', 'config|set', 'module', 'keys', 'acl|setuser', 'acl|deluser'] as const;
