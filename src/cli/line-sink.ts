import { createWriteStream, renameSync, rmSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';

/**
 * Writes JSON lines to stdout or a file with backpressure (a large export never buffers in memory).
 * A file is written beside its final name and renamed at the end, so a failed export never leaves a
 * truncated file that looks complete. On stdout, a reader that goes away (`| head`) ends the export
 * quietly.
 */
export interface LineSink {
  write(line: string): Promise<void> | void;
  finish(): Promise<void>;
  abort(): Promise<void>;
  readonly closedByReader: boolean;
}

export async function createLineSink(file?: string): Promise<LineSink> {
  const tmp = file ? `${file}.partial-${process.pid}` : undefined;
  const stream: NodeJS.WritableStream = tmp ? createWriteStream(tmp, { flags: 'w' }) : process.stdout;
  let failure: Error | undefined;
  let closedByReader = false;
  const onError = (e: NodeJS.ErrnoException) => {
    if (!tmp && e.code === 'EPIPE') closedByReader = true;
    failure = e;
  };
  stream.on('error', onError);
  if (tmp) await once(stream, 'open');
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
        renameSync(tmp, file);
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
