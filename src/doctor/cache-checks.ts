import { sharesDatabase } from '../redis/same-server.js';
import type { RedisClient } from '../redis/connect.js';
import { familyOf } from '../cache/families.js';
import { escapeKey, globEscape } from '../redis/keyname.js';
import { scanBatches } from '../redis/scan.js';
import { serverFacts, type ServerFacts } from './redis-checks.js';
import type { CheckGroup, CheckResult, DoctorContext } from './types.js';

/** How many cache keys the TTL check looks at: a sample, so doctor stays fast on a big cache. */
export const TTL_SAMPLE = 2000;
/** Below this many lookups a hit ratio says nothing. */
const MIN_LOOKUPS = 1000;

function idFor(name: string, s: ServerFacts): string {
  return s.roles.includes('queue') ? name : `${name}@${s.roles[0]}`;
}

/**
 * True when the cache's keys live among other roles' keys (a cluster, or a shared DB), as the servers
 * say (src/redis/same-server.ts); a role that could not be asked counts as sharing.
 */
async function cacheShared(ctx: DoctorContext, cacheClient: RedisClient): Promise<boolean> {
  if (ctx.config.roles.cache.kind === 'cluster') return true;
  for (const r of ['queue', 'session'] as const) {
    const other = ctx.clients[r];
    const sharing = other ? await sharesDatabase(ctx.config, 'cache', cacheClient, r, other) : 'unknown';
    if (sharing !== 'different') return true;
  }
  return false;
}

async function ttlCheck(ctx: DoctorContext): Promise<CheckResult | undefined> {
  const client = ctx.clients.cache;
  if (!client) return undefined;
  const prefix = ctx.config.cache.prefix;
  // Among other roles' keys, only the known cache families are surely cache keys.
  const onlyFamilies = !prefix && (await cacheShared(ctx, client));
  let sampled = 0;
  let noTtl = 0;
  const examples: string[] = [];
  const match = prefix ? Buffer.concat([globEscape(prefix), Buffer.from('*')]) : undefined;
  outer: for await (const { node, keys } of scanBatches(client, { match })) {
    const mine = onlyFamilies ? keys.filter((k) => familyOf(k, 0) !== undefined) : keys;
    if (!mine.length) continue;
    const p = node.pipeline();
    for (const k of mine) p.pttl(k);
    const res = (await p.exec()) ?? [];
    for (let i = 0; i < mine.length; i++) {
      const ms = Number(res[i]?.[1]);
      if (res[i]?.[0] || ms === -2) continue;
      sampled++;
      if (ms === -1) {
        noTtl++;
        if (examples.length < 3) examples.push(escapeKey(mine[i]));
      }
      if (sampled >= TTL_SAMPLE) break outer;
    }
  }
  if (!sampled) return { id: 'cache.keys-ttl', status: 'ok', message: 'cache role: no cache keys yet' };
  if (!noTtl) return { id: 'cache.keys-ttl', status: 'ok', message: `cache role: every one of ${sampled} sampled keys has a TTL` };
  return {
    id: 'cache.keys-ttl',
    status: 'warn',
    message: `cache role: ${noTtl} of ${sampled} sampled keys have no TTL (e.g. ${examples.join(', ')}); they never expire and stay until evicted`,
    fix: 'write cache keys with SET … EX <seconds>; remove strays with `rqctl cache forget KEY` or `rqctl cache clear --prefix P`',
  };
}

export const cacheChecks: CheckGroup = async (ctx) => {
  const out: CheckResult[] = [];
  const servers = await serverFacts(ctx);

  const ttl = await ttlCheck(ctx);
  if (ttl) out.push(ttl);

  const cacheServer = servers.find((s) => s.roles.includes('cache'));
  if (cacheServer) {
    const hits = Number(cacheServer.info.keyspace_hits ?? 0);
    const misses = Number(cacheServer.info.keyspace_misses ?? 0);
    const lookups = hits + misses;
    const ratio = lookups ? hits / lookups : 0;
    const pct = `${(ratio * 100).toFixed(1)}%`;
    if (lookups < MIN_LOOKUPS)
      out.push({ id: 'cache.hit-ratio', status: 'ok', message: `cache role: ${lookups} lookups since the server started, too few for a hit ratio` });
    else if (ratio < 0.5)
      out.push({
        id: 'cache.hit-ratio',
        status: 'warn',
        message: `cache role: hit ratio ${pct} (${hits} hits, ${misses} misses since the server started${cacheServer.roles.length > 1 ? `, shared with ${cacheServer.roles.filter((r) => r !== 'cache').join(' and ')}` : ''})`,
        fix: 'check that the refresh jobs run (`rqctl schedule list`), that cache durations outlast the refresh interval, and that maxmemory is not evicting the cache (`rqctl cache stats`)',
      });
    else out.push({ id: 'cache.hit-ratio', status: 'ok', message: `cache role: hit ratio ${pct} (${lookups} lookups)` });
  }

  for (const s of servers) {
    const evicted = Number(s.info.evicted_keys ?? 0);
    const mustNotEvict = s.roles.filter((r) => r === 'queue' || r === 'session');
    const where = `${s.roles.join(', ')} server`;
    if (mustNotEvict.length && evicted > 0) {
      out.push({
        id: idFor('evictions', s),
        status: 'fail',
        message: `${where} has evicted ${evicted} keys since it started: ${mustNotEvict.join(' and ')} data may have been lost (queued jobs, sessions)`,
        fix: 'set `maxmemory-policy noeviction` on this server and give the cache its own server (`rqctl config generate` writes that split topology); raise maxmemory if it is full',
      });
    } else {
      out.push({
        id: idFor('evictions', s),
        status: 'ok',
        message: `${where}: ${evicted} keys evicted since it started${mustNotEvict.length ? '' : ' (expected for a cache under allkeys-lru)'}`,
      });
    }
  }
  return out;
};
