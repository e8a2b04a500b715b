import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

/** In a fresh process (npm test builds dist/): the `process` and `Buffer` globals, with or without rqctl's CLI loaded. */
function probe(throughCli: boolean): Record<string, unknown> {
  const main = pathToFileURL(join(process.cwd(), 'dist/cli/main.js')).href;
  const script = `
    const { Buffer: NodeBuffer } = await import('node:buffer');
    const nodeProcess = globalThis.process;
    ${throughCli ? `await import(${JSON.stringify(main)});` : ''}
    const kind = (n) => { const d = Object.getOwnPropertyDescriptor(globalThis, n); return d.get ? 'accessor' : d.writable && d.configurable && !d.enumerable ? 'data' : 'other'; };
    const out = { process: kind('process'), Buffer: kind('Buffer'), sameProcess: process === nodeProcess, sameBuffer: Buffer === NodeBuffer, bytes: Buffer.from('é').length };
    globalThis.Buffer = 42;
    out.replaced = Buffer === 42;
    globalThis.Buffer = NodeBuffer;
    console.log(JSON.stringify(out));`;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }));
}

describe('the process and Buffer globals in rqctl processes', () => {
  it('are plain data properties holding the same objects, still replaceable', () => {
    // Node defines them as accessors, which V8's optimised code cannot inline (see src/util/globals.ts).
    expect(probe(false)).toMatchObject({ process: 'accessor', Buffer: 'accessor' });
    expect(probe(true)).toEqual({ process: 'data', Buffer: 'data', sameProcess: true, sameBuffer: true, bytes: 2, replaced: true });
  });
});
