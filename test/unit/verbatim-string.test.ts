import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * In a fresh process (npm test builds dist/): whether ioredis ends up with a subclass of String, and
 * what its reply decoder makes of a RESP3 verbatim string when asked for its VerbatimString type.
 */
function probe(throughCli: boolean): { subclass: boolean; value: string; format: string; stringObject: boolean; upper: string; info: string } {
  const main = pathToFileURL(join(process.cwd(), 'dist/cli/main.js')).href;
  const script = `
    ${throughCli ? `await import(${JSON.stringify(main)});` : ''}
    const { createRequire } = await import('node:module');
    const require = createRequire(${JSON.stringify(join(process.cwd(), 'package.json'))});
    // As rqctl's modules load it: an ESM import (ioredis is CommonJS; its own modules are required from there).
    await import('ioredis');
    const { VerbatimString } = require('ioredis/built/resp/verbatim-string.js');
    const { Decoder, RESP_TYPES } = require('ioredis/built/resp/decoder.js');
    const replies = [];
    const decode = (mapping, bytes) => {
      const d = new Decoder({ onReply: (r) => replies.push(r), onErrorReply: (e) => replies.push(e), onPush: () => {}, getTypeMapping: () => mapping });
      d.write(Buffer.from(bytes));
    };
    decode({ [RESP_TYPES.VERBATIM_STRING]: VerbatimString }, '=15\\r\\ntxt:Some string\\r\\n');
    decode({ [RESP_TYPES.VERBATIM_STRING]: String }, '=12\\r\\ntxt:# Server\\r\\n');
    const [v, info] = replies;
    console.log(JSON.stringify({
      subclass: Object.getPrototypeOf(VerbatimString.prototype ?? {}) === String.prototype,
      value: String(v), format: v.format, stringObject: v instanceof String, upper: v.toUpperCase(), info,
    }));`;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }));
}

describe("ioredis' VerbatimString in rqctl's processes", () => {
  it('is no subclass of String once the CLI has loaded, and decodes verbatim strings as before', () => {
    // Without the CLI, ioredis declares the subclass (which slows every string method load: see src/redis/verbatim-string.ts).
    const plain = probe(false);
    expect(plain.subclass).toBe(true);
    const cli = probe(true);
    expect(cli.subclass).toBe(false);
    // What a caller asking for the type gets is unchanged: a String object with its format.
    for (const r of [plain, cli]) expect(r).toMatchObject({ value: 'Some string', format: 'txt', stringObject: true, upper: 'SOME STRING', info: '# Server' });
  });
});
