import { Output, type OutputOptions } from '../../src/cli/render.js';

/**
 * An Output that writes into strings instead of the process' stdout and stderr, as a pipe would see
 * it (no terminal, no colour): what a renderer prints for a given result, without running the CLI.
 */
export function captureOutput(opts: OutputOptions = {}): { out: Output; stdout: () => string; stderr: () => string } {
  let stdout = '';
  let stderr = '';
  const out = new Output(
    opts,
    { NO_COLOR: '1' },
    {
      stdout: { write: (s: string) => (stdout += s), isTTY: false },
      stderr: { write: (s: string) => (stderr += s), isTTY: false },
    },
  );
  return { out, stdout: () => stdout, stderr: () => stderr };
}
