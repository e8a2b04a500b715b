#!/usr/bin/env node
// Builds src/deploy/validate/redis-directives.ts from the redis-server on PATH (7.0 when it was
// generated): the directive names come from CONFIG GET * on a server listening on a unix socket only,
// and each directive's kind from what redis-server says when it refuses a bad value. Every probe runs
// `redis-server FILE --port 0` in a temporary directory: nothing listens on TCP, the process exits by
// itself right after loading the configuration ("Configured to not listen anywhere").
//
//   npm run gen:redis-directives          rewrites the file (prettier-formatted, as committed)
//   node scripts/gen-redis-directives.mjs --stdout   prints it instead (the test compares the two)
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';

const TARGET = fileURLToPath(new URL('../src/deploy/validate/redis-directives.ts', import.meta.url));
const toStdout = process.argv.includes('--stdout');

const dir = mkdtempSync(join(tmpdir(), 'rqctl-directives-'));
const version = spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout.match(/v=([\d.]+)/)[1];

async function configGetAll() {
  const sock = join(dir, 'r.sock');
  const server = spawn('redis-server', ['--port', '0', '--unixsocket', sock, '--save', '', '--dir', dir, '--logfile', ''], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 100; i++) {
      const r = spawnSync('redis-cli', ['-s', sock, '--no-raw', 'CONFIG', 'GET', '*'], { encoding: 'utf8' });
      if (r.status === 0 && r.stdout.trim()) {
        const lines = spawnSync('redis-cli', ['-s', sock, 'CONFIG', 'GET', '*'], { encoding: 'utf8' }).stdout.split('\n');
        const out = {};
        for (let j = 0; j + 1 < lines.length; j += 2) out[lines[j]] = lines[j + 1];
        const commands = spawnSync('redis-cli', ['-s', sock, 'COMMAND', 'LIST'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).sort();
        return { defaults: out, commands };
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('redis-server did not start');
  } finally {
    // Wait for it to go: the temporary directory (and its socket) is removed next.
    const exited = new Promise((r) => server.once('exit', r));
    if (server.exitCode === null && server.signalCode === null) server.kill('SIGTERM');
    await exited;
  }
}

/** Loads a one-line config; returns undefined when accepted, else redis-server's reason. */
function probe(line) {
  const file = join(dir, 'probe.conf');
  writeFileSync(file, `${line}\n`);
  const r = spawnSync('redis-server', [file, '--port', '0', '--dir', dir, '--logfile', '', '--daemonize', 'no'], { encoding: 'utf8', cwd: dir, timeout: 5000 });
  const out = `${r.stdout}${r.stderr}`;
  if (/Configuration loaded/.test(out)) return undefined;
  const m = out.match(/>>> '.*'\n(.*)/);
  return m ? m[1].trim() : out.trim().split('\n').pop();
}

// Directives CONFIG GET * does not list: hidden test settings, and deprecated names that redis-server
// still accepts and ignores. A candidate redis-server calls a "Bad directive" is left out.
const HIDDEN = ['key-load-delay', 'rdb-key-save-delay', 'loading-process-events-interval-bytes', 'close-on-oom'];
const DEPRECATED = ['list-max-ziplist-entries', 'list-max-ziplist-value', 'lua-replicate-commands'];

/** Each directive's kind and argument count, from what redis-server accepts and refuses. */
function directiveTable(defaults) {
  const table = {};
  for (const name of [...Object.keys(defaults), ...HIDDEN, ...DEPRECATED].sort()) {
    if (DEPRECATED.includes(name)) {
      if (probe(`${name} x`) === undefined) table[name] = { kind: 'ignored', args: probe(`${name} x x`) === undefined ? 'many' : 1 };
      continue;
    }
    const bad = probe(`${name} rqctl-not-a-value`);
    if (bad !== undefined && /Bad directive/.test(bad)) continue;
    let entry;
    if (bad === undefined) entry = { kind: 'string' };
    else if (/must be 'yes' or 'no'/.test(bad)) entry = { kind: 'bool' };
    else if (/must be one of the following: (.*)/.test(bad)) entry = { kind: 'enum', values: bad.match(/following: (.*)/)[1].split(', ') };
    else if (/memory value/.test(bad)) entry = { kind: 'memory' };
    else if (/parsed into an integer/.test(bad)) entry = { kind: 'int' };
    else entry = { kind: 'special' };
    // Several arguments (the default's own words when it has several, else the default twice):
    // redis-server says "wrong number of arguments" for every single-value directive.
    const d = defaults[name] ?? '';
    const several = /\s/.test(d.trim()) ? d.trim() : `${d || 'x'} ${d || 'x'}`;
    const two = probe(`${name} ${several}`);
    entry.args = two !== undefined && /^wrong number of arguments/.test(two) ? 1 : 'many';
    if (entry.kind === 'enum' && entry.args === 'many') entry.multi = true;
    table[name] = entry;
  }
  return table;
}

let defaults, commands, table;
try {
  ({ defaults, commands } = await configGetAll());
  table = directiveTable(defaults);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const literal = (v) => (Array.isArray(v) ? `[${v.map(literal).join(', ')}]` : typeof v === 'string' ? `'${v}'` : String(v));
const lines = Object.entries(table).map(
  ([k, v]) =>
    `  '${k}': { ${Object.entries(v)
      .map(([f, x]) => `${f}: ${literal(x)}`)
      .join(', ')} },`,
);
const source = `// Generated by scripts/gen-redis-directives.mjs (npm run gen:redis-directives) from redis-server ${version}:
// do not edit by hand; test/integration/deploy-redis-directives.test.ts compares it with the generator.
// kind: how redis-server checks the value (string: anything; special: its own parser, checked in
// redis-conf.ts; ignored: deprecated, accepted and ignored); args: 1 when any other argument
// count is refused at start.
export interface DirectiveSpec {
  kind: 'bool' | 'enum' | 'memory' | 'int' | 'string' | 'special' | 'ignored';
  args: 1 | 'many';
  values?: string[];
  multi?: boolean;
}

export const REDIS_VERSION = '${version}';

export const DIRECTIVES: Record<string, DirectiveSpec> = {
${lines.join('\n')}
};

/** Command names \`rename-command\` accepts (it refuses to start on any other). */
export const COMMANDS = new Set([
${commands.map((c) => `  '${c}',`).join('\n')}
]);
`;

const formatted = await prettier.format(source, { ...(await prettier.resolveConfig(TARGET)), filepath: TARGET });
if (toStdout) process.stdout.write(formatted);
else {
  writeFileSync(TARGET, formatted);
  process.stderr.write(`wrote ${TARGET} (redis-server ${version})\n`);
}
