import { describe, expect, it } from 'vitest';
import { printStats, StatsWatchView } from '../../src/cli/render/stats.js';
import type { RoleStats } from '../../src/redis/stats.js';
import { captureOutput } from '../helpers/output.js';

const role = (over: Partial<RoleStats>): RoleStats => ({
  role: 'queue',
  url: 'redis://127.0.0.1:6400/0',
  db: 0,
  version: '7.2.4',
  usedMemory: 2 * 1024 * 1024,
  usedMemoryPeak: 3 * 1024 * 1024,
  maxmemory: 0,
  maxmemoryPolicy: 'noeviction',
  hitRatio: null,
  keyspaceHits: 0,
  keyspaceMisses: 0,
  evictedKeys: 0,
  expiredKeys: 12,
  opsPerSec: 35,
  totalCommands: 1000,
  connectedClients: 4,
  blockedClients: 1,
  keyspace: { db0: { keys: 10, expires: 0, avgTtl: 0 }, db1: { keys: 5, expires: 5, avgTtl: 1000 } },
  keys: 10,
  persistence: { aofEnabled: true, aofLastWriteStatus: 'ok', rdbLastSaveTime: null, rdbChangesSinceLastSave: 3, rdbLastBgsaveStatus: 'ok', loading: false },
  uptimeSeconds: 3 * 86_400 + 4 * 3600 + 120,
  nodes: 1,
  ...over,
});

const roles = [
  role({}),
  role({
    role: 'cache',
    url: 'redis://127.0.0.1:6401/1',
    db: 1,
    maxmemory: 8 * 1024 * 1024,
    maxmemoryPolicy: 'allkeys-lru',
    hitRatio: 0.75,
    keyspaceHits: 3,
    keyspaceMisses: 1,
    evictedKeys: 9,
    keys: 5,
    persistence: { aofEnabled: false, aofLastWriteStatus: null, rdbLastSaveTime: null, rdbChangesSinceLastSave: 0, rdbLastBgsaveStatus: null, loading: false },
    uptimeSeconds: 45,
  }),
];

describe('stats', () => {
  it('a column per role, a row per figure', () => {
    const { out, stdout } = captureOutput();
    printStats(out, roles);
    const rows = stdout()
      .trimEnd()
      .split('\n')
      .map((l) => l.split(/\s{2,}/));
    expect(rows).toEqual([
      ['', 'queue', 'cache'],
      ['server', 'redis://127.0.0.1:6400/0', 'redis://127.0.0.1:6401/1'],
      ['version', '7.2.4', '7.2.4'],
      ['memory', '2.00M of no limit', '2.00M of 8.00M (25.0%)'],
      ['policy', 'noeviction', 'allkeys-lru'],
      ['hit ratio', '-', '75.0% (3/4)'],
      ['evicted keys', '0', '9'],
      ['expired keys', '12', '12'],
      ['ops/s', '35', '35'],
      ['clients', '4 (1 blocked)', '4 (1 blocked)'],
      ['keys', '10 in db0', '5 in db1'],
      ['keyspace', 'db0=10 db1=5', 'db0=10 db1=5'],
      ['persistence', 'aof on (ok), rdb ok, 3 changes unsaved', 'aof off, rdb ?'],
      ['uptime', '3d 4h', '0m 45s'],
    ]);
  });

  it('--json: {roles: […]}', () => {
    const { out, stdout } = captureOutput({ json: true });
    printStats(out, roles);
    expect(JSON.parse(stdout())).toEqual({ roles });
  });

  it('--watch off a terminal: one JSON object per refresh, with its time', () => {
    const { out, stdout } = captureOutput();
    const view = new StatsWatchView(out);
    view.print(new Date('2024-05-01T12:00:00Z'), roles);
    view.print(new Date('2024-05-01T12:00:01Z'), roles);
    const lines = stdout()
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toEqual([
      { time: '2024-05-01T12:00:00.000Z', roles },
      { time: '2024-05-01T12:00:01.000Z', roles },
    ]);
  });
});
