import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { BIN, cleanEnv, runCli } from '../helpers/cli.js';
import { addJob, removePrefix, uniquePrefix } from '../helpers/queue.js';
import { freePort } from '../helpers/redis-server.js';

/**
 * docs/commands.md: `rqctl completion bash` prints a script; sourced in a real bash, its `_rqctl`
 * function fills COMPREPLY from `rqctl __complete`, exactly as bash does on TAB.
 */
const plain = inject('plainRedisUrl');
let bin: string;
const prefix = uniquePrefix('compl');

beforeAll(() => {
  // `rqctl` on PATH, as after `npm install -g`.
  bin = mkdtempSync(join(tmpdir(), 'rqctl-bin-'));
  symlinkSync(BIN, join(bin, 'rqctl'));
});
afterAll(async () => {
  rmSync(bin, { recursive: true, force: true });
  await removePrefix(plain, prefix);
});

/** Runs `_rqctl` for the given words (the last one is under the cursor) and returns COMPREPLY. */
function completeBash(words: string[], env: Record<string, string> = {}): Promise<{ reply: string[]; stderr: string }> {
  const script = [
    'source <(rqctl completion bash)',
    `COMP_WORDS=(rqctl ${words.map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ')})`,
    'COMP_CWORD=$((${#COMP_WORDS[@]} - 1))',
    '_rqctl',
    'printf "%s\\n" "${COMPREPLY[@]}"',
  ].join('\n');
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { env: cleanEnv({ PATH: `${bin}:${process.env.PATH}`, ...env }), cwd: tmpdir() });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      resolve({ reply: out.split('\n').filter(Boolean), stderr: err });
    });
  });
}

const HAVE_BASH = spawnSync('bash', ['--version']).status === 0;
if (!HAVE_BASH) console.warn('skipping the shell completion tests: bash is not installed');

describe.skipIf(!HAVE_BASH)('item 19: shell completion', () => {
  it('item 19: `rqctl completion bash` completes commands, subcommands and flags in a real bash', async () => {
    expect((await completeBash(['qu'])).reply).toEqual(['queue']);
    const top = (await completeBash([''])).reply;
    for (const c of ['up', 'worker', 'dispatch', 'queue', 'failed', 'doctor', 'deploy', 'completion']) expect(top).toContain(c);
    expect(top).not.toContain('__complete');
    expect((await completeBash(['queue', ''])).reply).toEqual(['status', 'pause', 'resume', 'clear', 'monitor']);
    expect((await completeBash(['worker', '--con'])).reply).toEqual(['--concurrency', '--config']);
    // Global and command flags, and values from fixed lists, also as --flag=value.
    expect((await completeBash(['keys', '--role', 'c'])).reply).toEqual(['cache']);
    // `--role=se`: bash splits it into `--role`, `=`, `se` and replaces only `se`.
    expect((await completeBash(['keys', '--role', '=', 'se'])).reply).toEqual(['session']);
    expect((await completeBash(['completion', ''])).reply).toEqual(['bash', 'zsh', 'fish']);
  });

  it('item 19: completion offers job types, their methods and schedule entries', async () => {
    const env = { REDIS_URL: plain };
    const jobs = (await completeBash(['dispatch', ''], env)).reply;
    expect(jobs).toEqual(expect.arrayContaining(['FetchCryptoData', 'FetchStockData', 'SendEmail', 'RefreshCryptoCache']));
    expect((await completeBash(['dispatch', 'FetchStockData', 'getStock'], env)).reply).toEqual([
      'getStockList',
      'getStockQuote',
      'getStockProfile',
      'getStockChart',
    ]);
    expect((await completeBash(['failed', 'list', '--name', 'Send'], env)).reply).toEqual(['SendEmail']);
    // Entry names hold a colon, where bash splits words: `raffles:s` is three words to bash.
    expect((await completeBash(['schedule', 'list', ''], env)).reply).toEqual(expect.arrayContaining(['raffles:update-statuses', 'refresh-stock-cache']));
    expect((await completeBash(['schedule', 'list', 'raffles', ':', 's'], env)).reply).toEqual(['select-winners']);
  });

  it('item 19: completion offers queue names found in a real redis-server, also in --queue lists', async () => {
    const queue = `reports-${process.pid}`;
    await addJob(plain, prefix, queue, 'TestNoop', {});
    const env = { REDIS_URL: plain, QUEUE_PREFIX: prefix };
    expect((await completeBash(['queue', 'pause', 'rep'], env)).reply).toEqual([queue]);
    expect((await completeBash(['queue', 'pause', ''], env)).reply).toEqual(expect.arrayContaining(['default', 'emails', queue]));
    expect((await completeBash(['worker', '--queue', 'default,'], env)).reply).toEqual(expect.arrayContaining(['default,emails', `default,${queue}`]));
    expect((await completeBash(['worker', '--queue', 'default,'], env)).reply).not.toContain('default,default');
  });

  it('item 19: with Redis unreachable the dynamic queue names are silently left out', async () => {
    const port = await freePort();
    const r = await completeBash(['queue', 'pause', ''], { REDIS_URL: `redis://127.0.0.1:${port}/0` });
    expect(r.reply).toEqual(['default', 'emails']);
    expect(r.stderr).toBe('');
    // The hidden entry point itself: exit 0, only the directive, nothing on stderr, even for junk.
    const direct = await runCli(['__complete', '--', 'queue', 'pause', 'x'], { env: { REDIS_URL: `redis://127.0.0.1:${port}/0` } });
    expect(direct).toMatchObject({ exitCode: 0, stdout: 'words\n', stderr: '' });
    const junk = await runCli(['__complete', '--', '--config', '/nonexistent.yaml', 'dispatch', ''], {});
    expect(junk.exitCode).toBe(0);
    expect(junk.stderr).toBe('');
  });

  it('item 19: `rqctl completion zsh|fish` print their scripts; an unknown shell is exit 2', async () => {
    for (const shell of ['zsh', 'fish']) {
      const r = await runCli(['completion', shell]);
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toContain('__complete --');
      const have = spawnSync(shell, ['--version']).status === 0;
      if (!have) console.warn(`not checking the ${shell} script's syntax: ${shell} is not installed`);
      else {
        const file = join(bin, `rqctl.${shell}`);
        writeFileSync(file, r.stdout);
        expect(spawnSync(shell, ['-n', file]).status).toBe(0);
      }
    }
    // Where the shells are installed, their scripts complete too (zsh with _describe stubbed: it
    // needs a real ZLE widget otherwise).
    const env = cleanEnv({ PATH: `${bin}:${process.env.PATH}`, REDIS_URL: plain });
    if (spawnSync('zsh', ['--version']).status === 0) {
      const z = spawnSync(
        'zsh',
        [
          '-c',
          'autoload -U compinit; compinit -u; source <(rqctl completion zsh); _describe() { print -rl -- "${(@P)${@[-1]}}" }; words=(rqctl schedule list raffles:s); CURRENT=4; _rqctl',
        ],
        { env, encoding: 'utf8', cwd: tmpdir() },
      );
      expect(z.stdout.trim()).toBe('raffles\\:select-winners');
    }
    if (spawnSync('fish', ['--version']).status === 0) {
      const f = spawnSync('fish', ['-c', 'rqctl completion fish | source; complete -C "rqctl dispatch FetchStockData getStockQ"'], {
        env,
        encoding: 'utf8',
        cwd: tmpdir(),
      });
      expect(f.stdout.trim()).toBe('getStockQuote');
    }
    const bad = await runCli(['completion', 'powershell']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/unknown shell "powershell"/);
  });
});
