// What the bench needs from the repository: paths, and whether a feature has landed yet (rows whose
// rqctl side is not built are reported as skipped, never measured against nothing).
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/** A clean environment for rqctl processes: nothing of the developer's REDIS_* leaks in. */
export function cleanEnv(extra = {}) {
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1' };
  return { ...env, ...extra };
}

export function distHas(ctx, rel) {
  return existsSync(join(ctx.root, 'dist', rel));
}

/** Whether `rqctl <words…> --help` is a real command (commander shows the parent's help otherwise). */
export function hasCommand(ctx, words) {
  const r = spawnSync(process.execPath, [ctx.bin, ...words, '--help'], { env: cleanEnv(), encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes(`Usage: rqctl ${words.join(' ')}`);
}

export function missing(what) {
  return `not built yet (${what})`;
}
