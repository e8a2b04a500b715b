import { Cluster, ReplyError } from 'ioredis';
import type { RedisClient } from '../../redis/connect.js';
import { failedKey, jobKey, readJobs, type CorruptJob } from '../walk/job-hash.js';
import { PAGE_SIZE, walkFailed } from './walk.js';

/**
 * Corrupt jobs in a failed set, for `failed retry all`'s bulk move, which must leave them where they
 * are (docs/commands.md): BullMQ's server-side move does not read jobs, and a worker cannot load a
 * corrupt one (it stalls, and fails again only after the stall limit).
 *
 * Finding them costs one read of every job's JSON fields: no cheaper sign of a corrupt hash exists
 * (BullMQ keeps no checksum, and an operator or another program may have written any field). The
 * read is as light as Redis allows: `SORT <failed> BY nosort LIMIT … GET # GET <job>->data …` returns
 * a page of 1,000 jobs' fields in one command (no per-job command, no script), about 1 µs of Redis
 * time per job, against ~4 µs for BullMQ's move of the same job; parsing happens here while Redis
 * serves the next page. Where SORT may not read the job hashes (a cluster whose slot rules refuse
 * it, an ACL user without access to every key, names holding `*`) the page-by-page walk of the other
 * commands reads them instead.
 *
 * Moving the rest without them: each corrupt job is parked in the failed set itself with its score
 * negated (`-score - 1`): BullMQ's move takes scores from 0 up, so it skips them, and they stay
 * visible to `failed list`. They get their score back right after the move; a run stopped in between
 * (killed) leaves them parked, and the next `failed retry all` restores them first. Parking and
 * restoring are extra work only when corrupt jobs exist.
 */

const JSON_FIELDS = ['data', 'opts', 'progress', 'parent'] as const;

function sortable(client: RedisClient, prefix: string, queue: string): boolean {
  // SORT's GET pattern substitutes the first `*` and splits at `->`: names holding either would be misread.
  return !(client instanceof Cluster) && !/[*]|->/.test(`${prefix}:${queue}`);
}

/**
 * Whether the JSON fields of one job (`rows[from…from+n)`) would stop BullMQ from loading it. `seen`
 * holds, per field, the last value that parsed: jobs of one type usually share their `opts` text,
 * which then is compared instead of parsed again.
 */
function looksCorrupt(rows: (string | null)[], from: number, n: number, seen: (string | null)[]): boolean {
  let present = false;
  for (let f = 0; f < n; f++) {
    const v = rows[from + f];
    if (v === null) continue;
    present = true;
    if (v === '' || v === seen[f]) continue;
    try {
      JSON.parse(v);
    } catch {
      return true;
    }
    seen[f] = v;
  }
  // No field at all: the hash is gone (or the key is not a hash), a stale id.
  return !present;
}

/** The ids in the failed set whose JSON fields do not parse (or whose hash is gone), via SORT … GET. */
async function suspectsBySort(client: RedisClient, prefix: string, queue: string): Promise<string[]> {
  const key = failedKey(prefix, queue);
  const gets = ['GET', '#', ...JSON_FIELDS.flatMap((f) => ['GET', `${jobKey(prefix, queue, '*')}->${f}`])];
  const width = 1 + JSON_FIELDS.length;
  const page = (offset: number) => client.call('SORT', key, 'BY', 'nosort', 'LIMIT', String(offset), String(PAGE_SIZE), ...gets) as Promise<(string | null)[]>;
  const suspects: string[] = [];
  const seen: (string | null)[] = JSON_FIELDS.map(() => null);
  let next: Promise<(string | null)[]> | undefined = page(0);
  for (let offset = 0; next; offset += PAGE_SIZE) {
    const rows: (string | null)[] = await next;
    // Ask for the next page before parsing this one: Redis serves it meanwhile.
    next = rows.length === PAGE_SIZE * width ? page(offset + PAGE_SIZE) : undefined;
    next?.catch(() => {});
    for (let i = 0; i < rows.length; i += width) {
      if (looksCorrupt(rows, i + 1, JSON_FIELDS.length, seen)) suspects.push(String(rows[i]));
    }
  }
  return suspects;
}

/** Every corrupt job of a queue's failed set, with the reason `failed list` gives. */
export async function findCorruptFailed(client: RedisClient, prefix: string, queue: string): Promise<CorruptJob[]> {
  let suspects: string[] | undefined;
  if (sortable(client, prefix, queue)) {
    try {
      suspects = await suspectsBySort(client, prefix, queue);
    } catch (e) {
      // A refusal of SORT's patterns (NOPERM, cluster slot rules): read the jobs one page at a time instead.
      if (!(e instanceof ReplyError)) throw e;
    }
  }
  const corrupt: CorruptJob[] = [];
  if (suspects) {
    // Read again the usual way, for the exact reason (WRONGTYPE, which field).
    for (let i = 0; i < suspects.length; i += PAGE_SIZE) {
      for (const r of await readJobs(client, prefix, queue, suspects.slice(i, i + PAGE_SIZE))) if (!r.result.ok) corrupt.push(r.result.corrupt);
    }
    return corrupt;
  }
  for await (const p of walkFailed(client, prefix, queue, { readOnly: true })) {
    for (const e of p.entries) if (!e.read.ok) corrupt.push(e.read.corrupt);
  }
  return corrupt;
}

/** Negates the scores of `ids` that failed up to `until`, so BullMQ's bulk move skips them; returns those parked. */
const PARK = `
local parked = {}
local untilScore = tonumber(ARGV[1])
for i = 2, #ARGV do
  local s = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if s then
    local n = tonumber(s)
    if n >= 0 and n <= untilScore then
      redis.call('ZADD', KEYS[1], 'XX', string.format('%.17g', -n - 1), ARGV[i])
      parked[#parked + 1] = ARGV[i]
    end
  end
end
return parked`;

/** Gives parked jobs (negative scores) their failure time back. */
const RESTORE = `
for i = 1, #ARGV do
  local s = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if s and tonumber(s) < 0 then redis.call('ZADD', KEYS[1], 'XX', string.format('%.17g', -tonumber(s) - 1), ARGV[i]) end
end
return 0`;

export async function parkCorrupt(client: RedisClient, prefix: string, queue: string, ids: readonly string[], until: number): Promise<string[]> {
  const parked: string[] = [];
  for (let i = 0; i < ids.length; i += PAGE_SIZE) {
    const res = (await client.eval(PARK, 1, failedKey(prefix, queue), String(until), ...ids.slice(i, i + PAGE_SIZE))) as string[];
    parked.push(...res);
  }
  return parked;
}

export async function restoreParked(client: RedisClient, prefix: string, queue: string, ids?: readonly string[]): Promise<void> {
  const key = failedKey(prefix, queue);
  if (ids) {
    for (let i = 0; i < ids.length; i += PAGE_SIZE) await client.eval(RESTORE, 1, key, ...ids.slice(i, i + PAGE_SIZE));
    return;
  }
  // Left by a run that stopped between parking and restoring: BullMQ itself never scores below 0.
  let left = await client.zcount(key, '-inf', '(0');
  while (left > 0) {
    await client.eval(RESTORE, 1, key, ...(await client.zrangebyscore(key, '-inf', '(0', 'LIMIT', 0, PAGE_SIZE)));
    const now = await client.zcount(key, '-inf', '(0');
    // A score in (-1, 0) was never ours to restore: stop rather than loop.
    if (now >= left) break;
    left = now;
  }
}
