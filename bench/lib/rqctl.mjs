// rqctl's own modules, loaded from dist/ (the bench measures the built code, like users run it).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export function importDist(ctx, rel) {
  return import(pathToFileURL(join(ctx.root, 'dist', rel)).href);
}

/** A resolved Config for the bench's server, from a clean environment and an empty directory (removed at once). */
export async function benchConfig(ctx, env) {
  const { resolveConfig } = await importDist(ctx, 'config/resolve.js');
  const cwd = mkdtempSync(join(tmpdir(), 'rqctl-bench-cwd-'));
  try {
    return await resolveConfig({ env: { PATH: process.env.PATH, ...env }, cwd });
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

/** Runs `concurrency` loops that call `op(i)` until `total` calls are done; returns ops/s. */
export async function inFlight(total, concurrency, op) {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < total; i = next++) await op(i);
    }),
  );
  return (total * 1000) / (performance.now() - t0);
}
