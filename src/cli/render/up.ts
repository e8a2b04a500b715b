import type { LogEvent, Output } from '../render.js';
import type { UpInfo, UpStatus } from '../../runtime/up.js';

/**
 * What `rqctl up` shows. On a terminal: log lines above one status line that is rewritten in place,
 * and a summary once everything runs. Off a terminal (or with --json): JSON lines only, the status
 * included (`event: status`).
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
    this.clearLine();
    this.write(e);
    if (this.tty && this.statusLine) process.stdout.write(this.statusLine);
  };

  readonly status = (s: UpStatus): void => {
    if (!this.tty) {
      this.write({ event: 'status', ...s });
      return;
    }
    const { c } = this.out;
    const queues = s.queues.map((q) => `${q.name} ${q.waiting} waiting/${q.active} active${q.delayed ? `/${q.delayed} delayed` : ''}`).join(', ');
    const line = `${c.bold('status')} workers ${s.workers} · processed ${c.green(String(s.processed))} · failed ${s.failed ? c.red(String(s.failed)) : 0}${s.retried ? ` · retried ${s.retried}` : ''} · ${queues}${s.cacheKeys !== null ? ` · cache keys ${s.cacheKeys}` : ''}${s.redisOk ? '' : ` · ${c.red('redis unreachable')}`}`;
    const width = process.stdout.columns || 120;
    this.clearLine();
    // Plain text may be cut to the terminal width; colour codes do not count.
    this.statusLine = line.length > width + 40 ? `${line.slice(0, width + 30)}…` : line;
    process.stdout.write(this.statusLine);
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
    this.clearLine();
    if (this.tty && this.statusLine) process.stdout.write('\n');
  }

  private clearLine(): void {
    if (this.tty && this.statusLine) process.stdout.write('\r\x1b[2K');
  }
}
