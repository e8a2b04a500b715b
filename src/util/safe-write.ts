import { randomBytes } from 'node:crypto';
import { closeSync, lstatSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';

/**
 * Writing files where someone else may have planted a symbolic link (a shared working directory,
 * `.rqctl/`, an export's target): a write through a link would overwrite whatever it points at
 * (a `~/.bashrc`, a system file when run as root). So rqctl never follows a link when it writes:
 *
 * - a link at the target, or at a directory rqctl creates or fills below a root it was given, is
 *   refused (the operator sees the path);
 * - content goes to a temporary file beside the target, created exclusively (`O_EXCL`: an existing
 *   file or link there is an error, never opened) under an unpredictable name, then renamed over the
 *   target: a rename replaces a link, it does not follow it, and readers never see half a file.
 *
 * Refusals are UnwritablePathError; the CLI reports them as usage errors (exit 2), nothing written.
 */
export class UnwritablePathError extends Error {
  override readonly name = 'UnwritablePathError';
  constructor(
    message: string,
    readonly path: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

function lstatOrUndefined(path: string): ReturnType<typeof lstatSync> | undefined {
  try {
    return lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Refuses `path` when it is a symbolic link; a missing path is fine. */
export function refuseSymlink(path: string): void {
  if (lstatOrUndefined(path)?.isSymbolicLink()) {
    throw new UnwritablePathError(
      `refusing to write ${path}: it is a symbolic link`,
      path,
      'remove the link (rqctl never writes through one), or choose another path',
    );
  }
}

/** Refuses a link at `path` or at any directory between `root` (itself trusted) and it. */
export function refuseSymlinksBelow(root: string, path: string): void {
  const rel = relative(resolve(root), resolve(path));
  let at = resolve(root);
  for (const part of rel.split(sep).filter(Boolean)) {
    at = join(at, part);
    refuseSymlink(at);
  }
}

/** The directory a file is written into must exist (rqctl does not create it on a typo). */
export function requireDirectoryOf(path: string): void {
  const dir = dirname(resolve(path));
  let ok = false;
  try {
    ok = statSync(dir).isDirectory();
  } catch {
    ok = false;
  }
  if (!ok)
    throw new UnwritablePathError(`cannot write ${path}: the directory ${dir} does not exist`, path, 'create the directory first, or choose another path');
}

/** A new, empty file beside `path` with an unpredictable name, created exclusively; the caller owns `fd`. */
export function createTempBeside(path: string, mode = 0o666): { tempPath: string; fd: number } {
  refuseSymlink(path);
  requireDirectoryOf(path);
  const tempPath = join(dirname(resolve(path)), `.${basename(path)}.${randomBytes(8).toString('hex')}.tmp`);
  try {
    return { tempPath, fd: openSync(tempPath, 'wx', mode) };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS')
      throw new UnwritablePathError(
        `cannot write ${path}: ${code === 'EROFS' ? 'read-only file system' : 'permission denied'}`,
        path,
        'choose a path you may write to',
      );
    throw e;
  }
}

/** Renames a finished temporary file over `path` (refusing a link that appeared there meanwhile). */
export function moveIntoPlace(tempPath: string, path: string): void {
  try {
    refuseSymlink(path);
    renameSync(tempPath, path);
  } catch (e) {
    rmSync(tempPath, { force: true });
    throw e;
  }
}

/** Writes `content` to `path` through an exclusive temporary file and a rename; never follows a link. */
export function writeFileSafely(path: string, content: string | Uint8Array, options: { mode?: number } = {}): void {
  const { tempPath, fd } = createTempBeside(path, options.mode);
  try {
    const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
  } catch (e) {
    closeSync(fd);
    rmSync(tempPath, { force: true });
    throw e;
  }
  closeSync(fd);
  moveIntoPlace(tempPath, path);
}
