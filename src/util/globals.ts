/**
 * Makes Node's `process` and `Buffer` globals plain data properties (docs/worker.md, "Speed and
 * memory").
 *
 * Node 20 defines both on the global object as accessors (`get() { return _process }`). V8's
 * optimised code does not inline such a global: every `process.…` and `Buffer.…` in a library's hot
 * path (ioredis, BullMQ, msgpackr) goes through the global-load stub and calls the getter: ~1.8 µs of
 * CPU per job in a BullMQ worker (bench/perf-worker.mjs: `Builtins_LoadGlobalIC` and
 * `get node:internal/bootstrap/node`). A writable, configurable data property holding the same
 * object behaves the same for code that reads or replaces the global; Node's own modules hold their
 * own reference and never read it back. Left as it is if either is not the accessor this expects.
 */
export function dataGlobals(): void {
  for (const name of ['process', 'Buffer'] as const) {
    const d = Object.getOwnPropertyDescriptor(globalThis, name);
    if (!d?.get || !d.configurable) continue;
    Object.defineProperty(globalThis, name, { value: d.get.call(globalThis), writable: true, configurable: true, enumerable: d.enumerable ?? false });
  }
}
