import { createHash, randomInt } from 'node:crypto';
import type { RedisClient } from '../../redis/connect.js';

/**
 * The raffle key layout (docs/jobs.md), in the queue role, unprefixed so any application can create
 * raffles:
 *
 *   raffles                 set of raffle ids
 *   raffle:<id>             hash: name, status (scheduled|active|ended), starts_at, ends_at (unix
 *                           seconds), winners_count; rqctl adds winners_drawn_at (unix seconds) when
 *                           it draws
 *   raffle:<id>:entries     set of entrant ids
 *   raffle:<id>:winners     list of winning entrant ids, in draw order, written once
 *
 * The scripts below touch several keys of one raffle, so on a Redis Cluster the queue role cannot hold
 * raffles (CROSSSLOT); use a standalone or Sentinel queue role for them.
 */

export const RAFFLES_KEY = 'raffles';
export const raffleKey = (id: string) => `raffle:${id}`;
export const entriesKey = (id: string) => `raffle:${id}:entries`;
export const winnersKey = (id: string) => `raffle:${id}:winners`;

export type RaffleStatus = 'scheduled' | 'active' | 'ended';

/** Unix seconds above this are almost certainly milliseconds: 1e11 s is the year 5138. */
const MAX_UNIX_SECONDS = 1e11;

export interface RaffleSummary {
  id: string;
  name?: string;
  status?: string;
  /** The status its times call for now (what UpdateRaffleStatuses will set). */
  dueStatus?: RaffleStatus;
  startsAt?: number;
  endsAt?: number;
  winnersCount?: number;
  entries: number;
  winners: number;
  drawnAt?: number;
  /** Why the record cannot be processed (missing or malformed times), if so. */
  problem?: string;
}

export interface RaffleDetail extends RaffleSummary {
  fields: Record<string, string>;
  winnerIds: string[];
}

const toInt = (v: string | undefined) => (v !== undefined && /^\s*-?\d+\s*$/.test(v) ? Number(v) : undefined);

/** What the times call for; never moves a raffle backwards, leaves unknown statuses alone. */
export function dueStatus(status: string | undefined, startsAt: number, endsAt: number, nowSec: number): RaffleStatus | undefined {
  if (status !== undefined && status !== '' && status !== 'scheduled' && status !== 'active' && status !== 'ended') return undefined;
  if (status === 'ended') return 'ended';
  if (nowSec >= endsAt) return 'ended';
  if (nowSec >= startsAt || status === 'active') return 'active';
  return 'scheduled';
}

function timesProblem(fields: Record<string, string>): string | undefined {
  const s = toInt(fields.starts_at);
  const e = toInt(fields.ends_at);
  if (s === undefined || e === undefined) return 'starts_at and ends_at must be unix seconds (integers)';
  if (s > MAX_UNIX_SECONDS || e > MAX_UNIX_SECONDS) return 'starts_at/ends_at look like milliseconds; the layout uses unix seconds';
  if (e < s) return 'ends_at is before starts_at';
  return undefined;
}

function summarize(id: string, fields: Record<string, string>, entries: number, winners: number, nowSec: number): RaffleSummary {
  const problem = Object.keys(fields).length === 0 ? 'raffle:<id> hash is missing' : timesProblem(fields);
  const startsAt = toInt(fields.starts_at);
  const endsAt = toInt(fields.ends_at);
  return {
    id,
    name: fields.name,
    status: fields.status,
    dueStatus: problem ? undefined : dueStatus(fields.status, startsAt!, endsAt!, nowSec),
    startsAt,
    endsAt,
    winnersCount: toInt(fields.winners_count),
    entries,
    winners,
    drawnAt: toInt(fields.winners_drawn_at),
    problem,
  };
}

/** Every id in `raffles`, via SSCAN (never SMEMBERS on an unbounded set). */
export async function raffleIds(redis: RedisClient): Promise<string[]> {
  const ids: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = (await redis.sscan(RAFFLES_KEY, cursor, 'COUNT', 1000)) as [string, string[]];
    cursor = next;
    ids.push(...batch);
  } while (cursor !== '0');
  return [...new Set(ids)].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

export async function listRaffles(redis: RedisClient, nowSec = Math.floor(Date.now() / 1000)): Promise<RaffleSummary[]> {
  const ids = await raffleIds(redis);
  const out: RaffleSummary[] = [];
  for (let i = 0; i < ids.length; i += 500) {
    const batch = ids.slice(i, i + 500);
    const results = await Promise.all(batch.map((id) => Promise.all([redis.hgetall(raffleKey(id)), redis.scard(entriesKey(id)), redis.llen(winnersKey(id))])));
    batch.forEach((id, j) => {
      const [fields, entries, winners] = results[j];
      out.push(summarize(id, fields, entries, winners, nowSec));
    });
  }
  return out;
}

export async function getRaffle(redis: RedisClient, id: string, nowSec = Math.floor(Date.now() / 1000)): Promise<RaffleDetail | undefined> {
  const [fields, entries, winnerIds, member] = await Promise.all([
    redis.hgetall(raffleKey(id)),
    redis.scard(entriesKey(id)),
    redis.lrange(winnersKey(id), 0, -1),
    redis.sismember(RAFFLES_KEY, id),
  ]);
  if (Object.keys(fields).length === 0 && entries === 0 && winnerIds.length === 0 && !member) return undefined;
  return { ...summarize(id, fields, entries, winnerIds.length, nowSec), fields, winnerIds };
}

// ---------------------------------------------------------------------------------------------
// Scripts: every state change is one atomic script, so concurrent runs (two schedulers, a retried
// job) cannot both apply it.

/** Moves one raffle forward by time. Returns {outcome, from, to}. */
const TRANSITION = `
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing', '', ''} end
local h = redis.call('HMGET', KEYS[1], 'status', 'starts_at', 'ends_at')
local status = h[1] or ''
if status ~= '' and status ~= 'scheduled' and status ~= 'active' then return {'unchanged', status, status} end
local s = tonumber(h[2])
local e = tonumber(h[3])
if not s or not e or s > ${MAX_UNIX_SECONDS} or e > ${MAX_UNIX_SECONDS} or e < s then return {'invalid', status, status} end
local now = tonumber(ARGV[1])
local target = 'scheduled'
if now >= e then target = 'ended' elseif now >= s or status == 'active' then target = 'active' end
if target == status then return {'unchanged', status, status} end
redis.call('HSET', KEYS[1], 'status', target)
return {'changed', status, target}
`;

/**
 * Writes the winners of one ended raffle, once. ARGV: now, the entry count the draw saw, winners…
 * Returns 1 + the number written (a raffle without entries is drawn too: no winners), 0 when already drawn, -1 when not ended, -2 when the entries changed
 * since they were read (the caller draws again).
 */
const COMMIT_WINNERS = `
if redis.call('HGET', KEYS[1], 'status') ~= 'ended' then return -1 end
if redis.call('EXISTS', KEYS[3]) == 1 or redis.call('HEXISTS', KEYS[1], 'winners_drawn_at') == 1 then return 0 end
if redis.call('SCARD', KEYS[2]) ~= tonumber(ARGV[2]) then return -2 end
for i = 3, #ARGV do
  if redis.call('SISMEMBER', KEYS[2], ARGV[i]) == 0 then return -2 end
end
for i = 3, #ARGV, 1000 do
  redis.call('RPUSH', KEYS[3], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
redis.call('HSET', KEYS[1], 'winners_drawn_at', ARGV[1])
return #ARGV - 1
`;

const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');
const SHAS = new Map<string, string>([TRANSITION, COMMIT_WINNERS].map((s) => [s, sha1(s)]));

/** EVALSHA, loading the script on NOSCRIPT (a restarted server forgets scripts). */
async function runScript(redis: RedisClient, script: string, keys: string[], args: (string | number)[]): Promise<unknown> {
  try {
    return await redis.evalsha(SHAS.get(script)!, keys.length, ...keys, ...args);
  } catch (e) {
    if (!/NOSCRIPT/.test(String((e as Error).message))) throw e;
    return redis.eval(script, keys.length, ...keys, ...args);
  }
}

export type TransitionOutcome = { id: string; outcome: 'changed' | 'unchanged' | 'invalid' | 'missing'; from: string; to: string };

export async function transitionRaffle(redis: RedisClient, id: string, nowSec: number): Promise<TransitionOutcome> {
  const [outcome, from, to] = (await runScript(redis, TRANSITION, [raffleKey(id)], [nowSec])) as [TransitionOutcome['outcome'], string, string];
  return { id, outcome, from, to };
}

/** Uniform sample of `k` distinct entries without replacement (partial Fisher–Yates, crypto RNG), in draw order. */
export function drawWinners(entries: string[], k: number): string[] {
  const a = [...entries];
  const n = Math.min(k, a.length);
  for (let i = 0; i < n; i++) {
    const j = randomInt(i, a.length);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a.slice(0, n);
}

async function allEntries(redis: RedisClient, id: string): Promise<string[]> {
  const out = new Set<string>();
  let cursor = '0';
  do {
    const [next, batch] = (await redis.sscan(entriesKey(id), cursor, 'COUNT', 1000)) as [string, string[]];
    cursor = next;
    for (const e of batch) out.add(e);
  } while (cursor !== '0');
  return [...out];
}

export type DrawOutcome =
  | { id: string; outcome: 'drawn'; winners: string[]; entries: number }
  | { id: string; outcome: 'already-drawn' | 'not-ended' }
  | { id: string; outcome: 'invalid'; reason: string };

/**
 * Draws the winners of one ended raffle, exactly once: the sample is taken here with a
 * cryptographic RNG, and written by a script that refuses when winners exist already (or when the
 * entries changed since they were read, then the draw is repeated on the fresh entries).
 */
export async function drawRaffle(redis: RedisClient, id: string, nowSec: number): Promise<DrawOutcome> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const [status, countText, drawnAt, hasWinners] = await Promise.all([
      redis.hget(raffleKey(id), 'status'),
      redis.hget(raffleKey(id), 'winners_count'),
      redis.hget(raffleKey(id), 'winners_drawn_at'),
      redis.exists(winnersKey(id)),
    ]);
    if (status !== 'ended') return { id, outcome: 'not-ended' };
    if (drawnAt !== null || hasWinners) return { id, outcome: 'already-drawn' };
    const count = countText === null || countText === '' ? 1 : toInt(countText);
    if (count === undefined || count < 1)
      return { id, outcome: 'invalid', reason: `winners_count must be a positive integer (got ${JSON.stringify(countText)})` };
    const entries = await allEntries(redis, id);
    const winners = drawWinners(entries, count);
    const r = Number(await runScript(redis, COMMIT_WINNERS, [raffleKey(id), entriesKey(id), winnersKey(id)], [nowSec, entries.length, ...winners]));
    if (r === 0) return { id, outcome: 'already-drawn' };
    if (r === -1) return { id, outcome: 'not-ended' };
    if (r > 0) return { id, outcome: 'drawn', winners, entries: entries.length };
    // -2: entries changed between the read and the write; draw again on the current set.
  }
  return { id, outcome: 'invalid', reason: 'its entries kept changing during the draw; will try again next run' };
}
