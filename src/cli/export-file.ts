import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { lstat, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { usageError } from '../errors.js';

/** JSON lines written to a file, safely; `finish()` puts the file in place, `abort()` leaves nothing behind. */
export interface ExportFile {
  write(line: string): Promise<void> | void;
  finish(): Promise<void>;
  abort(): Promise<void>;
}

const FLUSH_BYTES = 64 * 1024;

/**
 * `jobs find --export FILE`. The lines go to a temporary file beside FILE with an unpredictable name,
 * created exclusively and without following links (an attacker's symlink at that name makes the open
 * fail rather than write through it), readable by the owner only (payloads hold e-mail addresses);
 * at the end it is renamed onto FILE, which replaces FILE itself (a symlink named FILE included)
 * and never writes where a link points. A failed or interrupted export leaves FILE as it was.
 * A missing directory or a FILE that is a directory is exit 2 before anything is read.
 */
export async function createExportFile(file: string): Promise<ExportFile> {
  const dir = dirname(file);
  const dirStat = await stat(dir).catch(() => undefined);
  if (!dirStat?.isDirectory()) throw usageError(`cannot write ${file}: the directory ${dir} does not exist`, 'create it first, or export elsewhere');
  const existing: Stats | undefined = await lstat(file).catch(() => undefined);
  if (existing?.isDirectory()) throw usageError(`cannot write ${file}: it is a directory`, 'give a file name, e.g. --export jobs.jsonl');
  const tmp = join(dir, `.${basename(file)}.${randomBytes(6).toString('hex')}.partial`);
  let fh: FileHandle;
  try {
    fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EACCES' || err.code === 'EROFS' || err.code === 'EPERM')
      throw usageError(`cannot write in ${dir}: ${err.code}`, 'export into a directory you can write to');
    throw e;
  }
  let buffer = '';
  let closed = false;
  const flush = async () => {
    if (buffer === '') return;
    const chunk = buffer;
    buffer = '';
    await fh.write(chunk);
  };
  const close = async () => {
    if (closed) return;
    closed = true;
    await fh.close();
  };
  return {
    write(line: string) {
      buffer += `${line}\n`;
      if (buffer.length >= FLUSH_BYTES) return flush();
    },
    async finish() {
      await flush();
      await fh.sync();
      await close();
      await rename(tmp, file);
    },
    async abort() {
      await close().catch(() => {});
      await rm(tmp, { force: true });
    },
  };
}
