/**
 * Signals and the exits that cannot wait for a command to return.
 *
 * Commands return their exit code to src/cli/main.ts. Two cases cannot: a second Ctrl-C/SIGTERM
 * ("exit at once") and a worker whose jobs or connections still hold the event loop after it has
 * stopped. Both ask for an exit with `exitNow(code)`; main.ts is the only place that acts on it.
 */

let resolveExit!: (code: number) => void;
/** Resolves with the code of the first `exitNow()`; main.ts races every command against it. */
export const exitRequested: Promise<number> = new Promise<number>((resolve) => (resolveExit = resolve));

/** Leave now with this code, whatever still runs (main.ts calls process.exit). */
export function exitNow(code: number): void {
  resolveExit(code);
}

export interface SignalOptions {
  /** Default SIGINT and SIGTERM. */
  signals?: NodeJS.Signals[];
  /** A second signal exits 130 at once (default). `false` hands every signal to the handler. */
  secondExits?: boolean;
  /** Called on a second signal just before exiting (to log why). */
  onSecond?: (signal: NodeJS.Signals) => void;
}

/**
 * Ctrl-C and SIGTERM handled the same way everywhere: the first one asks the command to finish
 * gracefully (`handler`), a second one exits 130 at once. Returns the function that removes the
 * listeners.
 */
export function onSignals(handler: (signal: NodeJS.Signals) => void, options: SignalOptions = {}): () => void {
  const signals = options.signals ?? ['SIGINT', 'SIGTERM'];
  let seen = 0;
  const listener = (signal: NodeJS.Signals) => {
    seen++;
    if (seen > 1 && options.secondExits !== false) {
      options.onSecond?.(signal);
      exitNow(130);
      return;
    }
    handler(signal);
  };
  for (const s of signals) process.on(s, listener);
  for (const s of takeEarlySignals()) process.nextTick(listener, s);
  return () => {
    for (const s of signals) process.off(s, listener);
  };
}

interface EarlySignals {
  signals: NodeJS.Signals[];
  listener: (signal: NodeJS.Signals) => void;
}

/**
 * Signals that arrived while Node was still loading a long-running command (bin/rqctl.js remembers
 * them instead of dying): the first handler installed takes them over, once.
 */
function takeEarlySignals(): NodeJS.Signals[] {
  const holder = globalThis as { __rqctlEarlySignals?: EarlySignals };
  const early = holder.__rqctlEarlySignals;
  if (!early) return [];
  delete holder.__rqctlEarlySignals;
  process.off('SIGTERM', early.listener);
  process.off('SIGINT', early.listener);
  return early.signals;
}

/**
 * Ctrl-C and SIGTERM as an AbortSignal: the command finishes its current step, reports what it did
 * and exits. A second signal exits 130 at once.
 */
export function interruptSignal(): { signal: AbortSignal; interrupted: () => boolean; dispose: () => void } {
  const controller = new AbortController();
  const dispose = onSignals(() => controller.abort());
  return { signal: controller.signal, interrupted: () => controller.signal.aborted, dispose };
}
