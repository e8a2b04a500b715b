import { spawn, type ChildProcess } from 'node:child_process';
import { BIN, cleanEnv } from './cli.js';

/**
 * What a terminal of `columns` columns shows for a byte stream: the rows of its scrollback after
 * carriage returns, line feeds, erase-line sequences (`ESC[2K`, `ESC[K`) and automatic wrapping at
 * the right margin. Colours and other escape sequences take no room. `wrapped` lists the rows that
 * overflowed into the next one.
 */
export function renderTerminal(text: string, columns: number): { rows: string[]; wrapped: string[] } {
  const rows: string[][] = [[]];
  const wrapped: string[] = [];
  let row = 0;
  let col = 0;
  // A character written at the last column leaves the cursor there; the next one wraps (xterm's way).
  let pendingWrap = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\x1b') {
      const m = /^\x1b\[([0-9;?]*)([A-Za-z])/.exec(text.slice(i));
      if (!m) continue;
      i += m[0].length - 1;
      if (m[2] === 'K') {
        if (m[1] === '2') rows[row] = [];
        else rows[row].length = Math.min(rows[row].length, col);
        pendingWrap = false;
      }
      continue;
    }
    if (ch === '\r') {
      col = 0;
      pendingWrap = false;
    } else if (ch === '\n') {
      row++;
      rows[row] ??= [];
      pendingWrap = false;
    } else if (ch >= ' ') {
      if (pendingWrap) {
        wrapped.push(rows[row].join(''));
        row++;
        rows[row] ??= [];
        col = 0;
        pendingWrap = false;
      }
      rows[row][col] = ch;
      for (let k = 0; k < col; k++) rows[row][k] ??= ' ';
      if (col === columns - 1) pendingWrap = true;
      else col++;
    }
  }
  return { rows: rows.map((r) => r.join('').trimEnd()), wrapped };
}

/**
 * `rqctl <args>` on a real pseudo-terminal of the given size (util-linux `script`), its raw output
 * collected. Ctrl-C goes in through the terminal, as a person's would.
 */
export class TerminalCli {
  readonly child: ChildProcess;
  raw = '';
  readonly exited: Promise<number | null>;

  constructor(args: string[], options: { columns: number; rows?: number; env?: Record<string, string | undefined>; cwd: string }) {
    const quoted = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    // -echoctl: the terminal does not echo a typed Ctrl-C as `^C` after whatever the program drew.
    const command = `stty cols ${options.columns} rows ${options.rows ?? 40} -echoctl; exec ${quoted}`;
    this.child = spawn('script', ['-qfec', command, '/dev/null'], {
      cwd: options.cwd,
      env: cleanEnv({ TERM: 'xterm', ...options.env }),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (d: Buffer) => (this.raw += d.toString('utf8')));
    this.child.stderr!.on('data', (d: Buffer) => (this.raw += d.toString('utf8')));
    this.exited = new Promise((r) => this.child.once('exit', (code) => r(code)));
  }

  /** Ctrl-C typed on the terminal. */
  interrupt(): void {
    this.child.stdin!.write('\x03');
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }
}
