import { createWriteStream, rmSync, type WriteStream } from 'node:fs';
import { createTempBeside, moveIntoPlace } from '../util/safe-write.js';

/**
 * Writes JSON lines to stdout or a file with backpressure (a large export never buffers in memory).
 * A file is written to a temporary file beside its final name (created exclusively, never through a
 * link: src/util/safe-write.ts) and renamed at the end, so a failed export never leaves a truncated
 * file that looks complete. A missing directory or a link at the target is refused before anything is
 * created. On stdout, a reader that goes away (`| head`) ends the export quietly.
 */
export interface LineSink {
  write(line: string): Promise<void> | void;
  finish(): Promise<void>;
  abort(): Promise<void>;
  readonly closedByReader: boolean;
}

/** An export file is readable by its owner only: job payloads carry e-mail addresses and the like. */
const EXPORT_FILE_MODE = 0o600;

export async function createLineSink(file?: string): Promise<LineSink> {
  const temp = file ? createTempBeside(file, EXPORT_FILE_MODE) : undefined;
  const tmp = temp?.tempPath;
  const stream: NodeJS.WritableStream = temp ? createWriteStream(temp.tempPath, { fd: temp.fd }) : process.stdout;
  let failure: Error | undefined;
  let closedByReader = false;
  const onError = (e: NodeJS.ErrnoException) => {
    if (!tmp && e.code === 'EPIPE') closedByReader = true;
    failure = e;
  };
  stream.on('error', onError);
  return {
    get closedByReader() {
      return closedByReader;
    },
    write(line: string) {
      if (failure) throw failure;
      if (!stream.write(`${line}\n`)) {
        return new Promise<void>((resolve, reject) => {
          const onDrain = () => {
            stream.off('error', onErr);
            resolve();
          };
          const onErr = (e: Error) => {
            stream.off('drain', onDrain);
            reject(e);
          };
          stream.once('drain', onDrain);
          stream.once('error', onErr);
        });
      }
    },
    async finish() {
      if (failure) throw failure;
      if (tmp && file) {
        await new Promise<void>((resolve, reject) => (stream as WriteStream).end((e?: Error | null) => (e ? reject(e) : resolve())));
        moveIntoPlace(tmp, file);
        stream.off('error', onError);
      }
      // On stdout the handler stays: an EPIPE can still arrive after the last write returned.
    },
    async abort() {
      if (tmp) {
        (stream as WriteStream).destroy();
        rmSync(tmp, { force: true });
      }
    },
  };
}
