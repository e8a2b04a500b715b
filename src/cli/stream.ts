/**
 * Streaming results to stdout. `rqctl keys` may print millions of lines: each batch is written with
 * backpressure (the next SCAN waits for the pipe to drain), and a reader that goes away early
 * (`rqctl keys | head`) ends the command quietly with exit 0, like any Unix filter.
 */
export class StdoutStream {
  private closedFlag = false;

  constructor(private readonly stream: NodeJS.WriteStream = process.stdout) {
    // Kept for the life of the process: any later write to a closed pipe must not crash either.
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED' || e.code === 'ECONNRESET') this.closedFlag = true;
      else throw e;
    });
  }

  /** True once the reader has gone away. */
  get closed(): boolean {
    return this.closedFlag || this.stream.destroyed;
  }

  /** Writes a chunk and waits while the pipe is full. Resolves false once the reader has gone. */
  async write(chunk: string | Uint8Array): Promise<boolean> {
    if (this.closed) return false;
    let ok: boolean;
    try {
      ok = this.stream.write(chunk);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EPIPE') {
        this.closedFlag = true;
        return false;
      }
      throw e;
    }
    if (!ok && !this.closed) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.stream.off('drain', done);
          this.stream.off('error', done);
          this.stream.off('close', done);
          resolve();
        };
        this.stream.once('drain', done);
        this.stream.once('error', done);
        this.stream.once('close', done);
      });
    }
    // A write error is reported on the next tick: let it arrive before saying all is well.
    if (!this.closedFlag) await new Promise((r) => setImmediate(r));
    return !this.closed;
  }
}
