import { readFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';

/**
 * Keeps ioredis from defining a subclass of String (docs/worker.md, "Speed and memory").
 *
 * ioredis 6 declares `class VerbatimString extends String` for RESP3 verbatim strings. Once any
 * subclass of String exists in a process, V8's optimised code no longer loads the methods of string
 * primitives directly (`s.charCodeAt`, `s.slice`, `s.indexOf`…) but through its generic property
 * stub: a loop over a string's characters runs ~3× slower, and a BullMQ worker spends ~5 µs more
 * CPU per job (BENCHMARKS.md, fifth pass; bench/perf-worker.mjs shows ~1.5 µs of it in the
 * `Builtins_LoadIC` stub itself, called from msgpackr, ioredis and rqctl's log lines). ioredis itself never makes one (its reply decoder maps verbatim strings to
 * strings or Buffers); the class is there for callers that ask for it in a type mapping.
 *
 * This puts an equivalent into ioredis' module cache before ioredis loads: a constructor returning
 * what an instance of the class is, a String object with the verbatim string's `format`, without
 * declaring a subclass. Nothing is changed when ioredis is loaded already (too late) or its module
 * is not the one this expects (a later ioredis without the class). Returns whether it was put in.
 */
export function installVerbatimString(): boolean {
  const require = createRequire(import.meta.url);
  let path: string;
  try {
    path = require.resolve('ioredis/built/resp/verbatim-string.js');
  } catch {
    return false;
  }
  if (require.cache[path] || !/\bclass VerbatimString extends String\b/.test(readFileSync(path, 'utf8'))) return false;
  const mod = new Module(path);
  mod.filename = path;
  mod.loaded = true;
  mod.exports = { VerbatimString: VerbatimString as unknown };
  require.cache[path] = mod;
  return true;
}

/** A RESP3 verbatim string as ioredis' class makes it: a String object with its format (`txt`, `mkd`). */
function VerbatimString(format: string, value: string): string {
  const s = Object.assign(new String(value), { format });
  return s as unknown as string;
}
