import { closeSync, constants, fstatSync, openSync, readSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, relative, sep } from 'node:path';

/**
 * How validate reads a file (docs/validate.md, "What validate reads"): compose files point at host
 * files (a mounted redis.conf, an env_file, a Dockerfile), and a compose file from a pull request must
 * not make CI read and print `/etc/shadow`, `/proc/self/environ` or `../.env.production`, nor read
 * `/dev/zero` without end. So a file is read only when it is a regular file, at most 1 MiB, and — for a
 * file a compose file names — inside the project (after following symlinks).
 */
export const MAX_INPUT_BYTES = 1024 * 1024;
export const MAX_INPUT_TEXT = '1 MiB';

export type ReadRefusal = 'missing' | 'outside' | 'special' | 'too-large' | 'unreadable';

export type SafeRead = { ok: true; text: string; realPath: string } | { ok: false; refusal: ReadRefusal; reason: string };

const KERNEL_TREES = ['/proc', '/sys', '/dev'];

function inside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/** The folders a compose file may point into: its own folder, and the working directory when the compose file lies inside it. */
export function projectRoots(composeAbs: string, cwd: string): string[] {
  const roots = [dirname(composeAbs)];
  if (inside(composeAbs, cwd)) roots.push(cwd);
  return roots.map((r) => {
    try {
      return realpathSync(r);
    } catch {
      return r;
    }
  });
}

/**
 * Reads `absPath` as text when it is a regular file of at most 1 MiB (and, with `roots`, lies inside one
 * of them once symlinks are followed); else says why not, in words that name the file as `shown`.
 */
export function readSafely(absPath: string, shown: string, roots?: string[]): SafeRead {
  let real: string;
  try {
    real = realpathSync(absPath);
  } catch {
    return { ok: false, refusal: 'missing', reason: `${shown} does not exist here` };
  }
  if (KERNEL_TREES.some((t) => inside(real, t)))
    return { ok: false, refusal: 'special', reason: `${shown} is not a regular file (a device or kernel file): not read` };
  if (roots && !roots.some((r) => inside(real, r)))
    return { ok: false, refusal: 'outside', reason: `${shown} is outside the project folder: not read (validate reads only files inside the project)` };
  try {
    const pre = statSync(real);
    // Checked before opening: opening a FIFO blocks until a writer comes, a device may never end.
    if (!pre.isFile()) return { ok: false, refusal: 'special', reason: `${shown} is not a regular file (a device, FIFO or socket): not read` };
    if (pre.size > MAX_INPUT_BYTES) return tooLarge(shown);
    const fd = openSync(real, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) return { ok: false, refusal: 'special', reason: `${shown} is not a regular file: not read` };
      const buf = Buffer.alloc(MAX_INPUT_BYTES + 1);
      let length = 0;
      for (;;) {
        const n = readSync(fd, buf, length, buf.length - length, null);
        if (n === 0) break;
        length += n;
        if (length > MAX_INPUT_BYTES) return tooLarge(shown);
      }
      return { ok: true, text: buf.toString('utf8', 0, length), realPath: real };
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    return { ok: false, refusal: 'unreadable', reason: `${shown} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})` };
  }
}

function tooLarge(shown: string): SafeRead {
  return {
    ok: false,
    refusal: 'too-large',
    reason: `${shown} is larger than ${MAX_INPUT_TEXT}: not read (deployment files are small; validate reads at most ${MAX_INPUT_TEXT} per file)`,
  };
}
