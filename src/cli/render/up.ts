import { formatEvent, type LogEvent, type Output } from '../render.js';
import type { UpInfo, UpStatus } from '../../runtime/up.js';

/** Erases the row the cursor is on and returns to its start. */
const ERASE_LINE = '\r\x1b[2K';
const SGR = /\x1b\[[0-9;]*m/y;

/**
 * `text` cut to at most `width` visible columns (colour codes take none), ending in `…` when cut.
 * A status line wider than the terminal would wrap, and erasing it would then leave its first row
 * behind on every redraw.
 */
export function fitToWidth(text: string, width: number): string {
  let visible = 0;
  let out = '';
  for (let i = 0; i < text.length;) {
    SGR.lastIndex = i;
    const code = SGR.exec(text);
    if (code) {
      out += code[0];
      i += code[0].length;
      continue;
    }
    const ch = String.fromCodePoint(text.codePointAt(i)!);
    if (visible + 1 > width) return `${trimToFit(out, width - 1)}…\x1b[0m`;
    out += ch;
    visible++;
    i += ch.length;
  }
  return out;
}

/** Drops visible characters from the end of `text` until at most `width` remain. */
function trimToFit(text: string, width: number): string {
  let visible = 0;
  let end = 0;
  for (let i = 0; i < text.length;) {
    SGR.lastIndex = i;
    const code = SGR.exec(text);
    if (code) {
      i += code[0].length;
      if (visible <= width) end = i;
      continue;
    }
    const ch = String.fromCodePoint(text.codePointAt(i)!);
    if (visible + 1 > width) break;
    visible++;
    i += ch.length;
    end = i;
  }
  return text.slice(0, end);
}

/**
 * What `rqctl up` shows. On a terminal: log lines above one status line that is rewritten in place,
 * and a summary once everything runs. Off a terminal (or with --json): JSON lines only, the status
 * included (`event: status`).
 *
 * On a terminal every log line is written at once, together with erasing the status before it and
 * drawing it again after (one write): the event logger's batching would otherwise print lines
 * later, onto the status line.
 */
export class UpScreen {
  private readonly tty: boolean;
  /** The status line now on screen ('' before the first status). */
  private statusLine = '';

  constructor(
    private readonly out: Output,
    private readonly write: (e: LogEvent) => void,
  ) {
    this.tty = out.stdoutIsTTY && !out.json;
  }

  get onTerminal(): boolean {
    return this.tty;
  }

  /** One event, above the status line. */
  readonly log = (e: LogEvent): void => {
    if (!this.tty) {
      this.write(e);
      return;
    }
    const line = formatEvent(this.out, e);
    if (line === undefined) return;
    process.stdout.write(`${this.statusLine ? ERASE_LINE : ''}${line}\n${this.statusLine}`);
  };

  readonly status = (s: UpStatus): void => {
    if (!this.tty) {
      this.write({ event: 'status', ...s });
      return;
    }
    const { c } = this.out;
    const queues = s.queues.map((q) => `${q.name} ${q.waiting} waiting/${q.active} active${q.delayed ? `/${q.delayed} delayed` : ''}`).join(', ');
    const line = `${c.bold('status')} workers ${s.workers} · processed ${c.green(String(s.processed))} · failed ${s.failed ? c.red(String(s.failed)) : 0}${s.retried ? ` · retried ${s.retried}` : ''} · ${queues}${s.cacheKeys !== null ? ` · cache keys ${s.cacheKeys}` : ''}${s.redisOk ? '' : ` · ${c.red('redis unreachable')}`}`;
    // One column short of the width: a character in the last column makes some terminals wrap.
    const width = Math.max(10, (process.stdout.columns || 80) - 1);
    const before = this.statusLine;
    this.statusLine = fitToWidth(line, width);
    process.stdout.write(`${before ? ERASE_LINE : ''}${this.statusLine}`);
  };

  /** Everything runs: where Redis is, what runs, the next scheduled runs. */
  ready(info: UpInfo): void {
    const { out } = this;
    const r = info.redis;
    if (!this.tty) {
      this.write({ event: 'ready', msg: `rqctl up: ${r.url}`, ...info });
      return;
    }
    this.clearLine();
    out.line(
      out.kv([
        ['redis', `${r.url}${r.embedded ? ` (embedded, pid ${r.pid}${r.adopted ? ', adopted' : ''}, data ${r.dataDir})` : ''}`],
        ['queues', info.queues.join(', ')],
        ['workers', `${info.workers.count} process${info.workers.count === 1 ? '' : 'es'} × concurrency ${info.workers.concurrency}`],
        ['scheduler', info.scheduler],
        ...(info.dashboard ? [['dashboard', info.dashboard.url] as [string, string]] : []),
        ...info.nextRuns.map((n): [string, string] => [`  next ${n.name}`, n.next]),
      ]),
    );
    if (r.embedded) out.line(out.c.dim(`other shells: REDIS_URL=redis://127.0.0.1:${r.port}/0 REDIS_PASSWORD="$(cat ${r.passwordFile})" rqctl …`));
    out.line(out.c.dim('Ctrl-C stops everything'));
    if (this.statusLine) process.stdout.write(this.statusLine);
  }

  /** Everything stopped: the status line stays, on a line of its own. */
  end(): void {
    if (this.tty && this.statusLine) process.stdout.write('\n');
  }

  private clearLine(): void {
    if (this.tty && this.statusLine) process.stdout.write(ERASE_LINE);
  }
}
