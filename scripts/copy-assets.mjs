// Copies the files tsc does not emit from src/ to dist/: the Lua scripts (src/limits/*.lua), which
// rqctl reads at run time and other applications load from the published package.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
const ASSET = /\.lua$/;

function* walk(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (ASSET.test(e.name)) yield p;
  }
}

for (const file of walk(src)) {
  const to = join(root, 'dist', relative(src, file));
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(file, to);
}
