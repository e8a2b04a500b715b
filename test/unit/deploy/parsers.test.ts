import { describe, expect, it } from 'vitest';
import { interpolate, literalText } from '../../../src/deploy/validate/interpolate.js';
import { parseRedisArgs, parseRedisConf, splitArgs } from '../../../src/deploy/validate/redis-conf.js';
import { parseIni, badExpansions } from '../../../src/deploy/validate/supervisord.js';
import { parseYamlTree, toPlain, lineAt } from '../../../src/deploy/validate/yaml-tree.js';
import { simpleCommands, splitWords } from '../../../src/deploy/validate/shell-words.js';
import { classifyCommandLine } from '../../../src/deploy/validate/commands.js';
import { composeSeconds, dockerBytes, redisBytes } from '../../../src/deploy/validate/units.js';

describe('compose interpolation', () => {
  const env = { SET: 'value', EMPTY: '' };
  it.each([
    ['${SET}', 'value'],
    ['$SET/x', 'value/x'],
    ['${UNSET}', ''],
    ['${UNSET:-d}', 'd'],
    ['${EMPTY:-d}', 'd'],
    ['${EMPTY-d}', ''],
    ['${UNSET-d}', 'd'],
    ['${SET:+alt}', 'alt'],
    ['${EMPTY:+alt}', ''],
    ['${EMPTY+alt}', 'alt'],
    ['$$SET', '$SET'],
    ['a$${SET}b', 'a${SET}b'],
    ['${UNSET:-${SET}}', 'value'],
    ['${UNSET:-${ALSO_UNSET:-deep}}', 'deep'],
  ])('%s → %s', (raw, expected) => {
    const r = interpolate(raw, env);
    expect(r.errors).toEqual([]);
    expect(r.value).toBe(expected);
  });

  it('keeps a missing required variable as a reference and reports it with its message', () => {
    const r = interpolate('--requirepass ${REDIS_PASSWORD:?set REDIS_PASSWORD please}', {});
    expect(r.value).toBe('--requirepass ${REDIS_PASSWORD}');
    expect(r.missingRequired).toEqual([{ name: 'REDIS_PASSWORD', message: 'set REDIS_PASSWORD please' }]);
    expect(interpolate('${X:?e}', { X: '' }).missingRequired).toHaveLength(1);
    expect(interpolate('${X?e}', { X: '' }).missingRequired).toHaveLength(0);
  });

  it('reports what compose refuses: a lone $ and an unclosed ${', () => {
    expect(interpolate('echo $1', {}).errors[0]).toMatch(/not followed by a variable name/);
    expect(interpolate('${BROKEN', {}).errors[0]).toMatch(/unclosed/);
    expect(interpolate('${-x}', {}).errors[0]).toMatch(/invalid interpolation/);
  });

  it('literalText is what is written outside references', () => {
    expect(literalText('${A}')).toBe('');
    expect(literalText('pre${A:-x}post$B')).toBe('prepost');
    expect(literalText('$$')).toBe('$');
  });
});

describe('redis.conf as redis-server 7 reads it', () => {
  it('splits words like sdssplitargs', () => {
    expect(splitArgs('rename-command FLUSHDB ""').map((a) => a.value)).toEqual(['rename-command', 'FLUSHDB', '']);
    expect(splitArgs(`requirepass "a\\"b\\x41"`)[1].value).toBe('a"bA');
    expect(splitArgs(`requirepass 'it\\'s'`)[1].value).toBe("it's");
    expect(() => splitArgs('requirepass "abc')).toThrow();
    expect(() => splitArgs('requirepass "a"b')).toThrow();
  });

  it('finds inline comments, unknown directives, wrong counts and bad values, with line numbers', () => {
    const { directives, problems } = parseRedisConf(
      [
        '# whole-line comment',
        'maxmemory 256mb # cache',
        'maxmemory-policy noeviction',
        'appendonly maybe',
        'foo bar',
        'requirepass "#not-a-comment"',
        'user app on #' + 'a'.repeat(64) + ' ~* +@all',
        'save ""',
        'bind 127.0.0.1 -::1',
      ].join('\n'),
      'r.conf',
    );
    expect(problems.map((p) => p.line)).toEqual([2, 4, 5]);
    expect(problems[0].message).toMatch(/whole-line comments only/);
    expect(directives.map((d) => d.name)).toEqual(['maxmemory-policy', 'requirepass', 'user', 'save', 'bind']);
    expect(directives.find((d) => d.name === 'requirepass')!.args[0].value).toBe('#not-a-comment');
  });

  it('reads the command line like redis-server main(): config file first, --name value…', () => {
    const args = ['/etc/redis.conf', '--requirepass', 'x y', '--save', '--appendonly', 'yes', '--maxmemory 256mb', '--rename-command', 'FLUSHDB', ''].map(
      (value) => ({ value }),
    );
    const r = parseRedisArgs(
      args,
      'c.yml',
      (i) => `cmd[${i}]`,
      () => 1,
    );
    expect(r.configFile?.value).toBe('/etc/redis.conf');
    expect(r.problems).toEqual([]);
    expect(r.directives.map((d) => [d.name, d.args.map((a) => a.value)])).toEqual([
      ['requirepass', ['x y']],
      ['save', ['']],
      ['appendonly', ['yes']],
      ['maxmemory', ['256mb']],
      ['rename-command', ['FLUSHDB', '']],
    ]);
    // An option without its value swallows the next option as its argument, as redis-server does.
    const bad = parseRedisArgs(
      ['--requirepass', '--maxmemory', '1mb'].map((value) => ({ value })),
      'c.yml',
      () => 'p',
      () => 1,
    );
    expect(bad.problems[0].message).toMatch(/exactly one argument/);
  });
});

describe('supervisord INI', () => {
  it('finds duplicate sections and keys, continuation lines and inline comments', () => {
    const ini = parseIni(
      [
        '[supervisord]',
        'nodaemon=true ; inline',
        '[program:w]',
        'command=rqctl worker',
        '  --timeout 300',
        'numprocs=2',
        'NumProcs: 3',
        '[program:w]',
        'user=x;not-a-comment',
      ].join('\n'),
    );
    const w = ini.sections.get('program:w')!;
    expect(ini.sections.get('supervisord')!.keys.get('nodaemon')!.value).toBe('true');
    expect(w.keys.get('command')!.value).toBe('rqctl worker\n--timeout 300');
    expect(w.keys.get('numprocs')!.value).toBe('3');
    expect(w.keys.get('user')!.value).toBe('x;not-a-comment');
    expect(ini.problems.map((p) => [p.kind, p.line])).toEqual([
      ['duplicate-key', 7],
      ['duplicate-section', 8],
    ]);
  });

  it('knows which %(expansions)s supervisord can expand', () => {
    expect(badExpansions('%(program_name)s_%(process_num)02d %(ENV_HOME)s %%')).toEqual([]);
    expect(badExpansions('%(proc_num)02d')).toEqual(['proc_num']);
  });
});

describe('compose YAML with positions', () => {
  it('applies anchors and merge keys (explicit keys win) and keeps the line where a value is written', () => {
    const src = ['x-base: &base', '  image: redis:7', '  ports: ["${P:-6379}:6379"]', 'services:', '  r:', '    <<: *base', '    image: redis:7.2'].join('\n');
    const parsed = parseYamlTree(src, {});
    expect(parsed.syntaxErrors).toEqual([]);
    expect(toPlain(parsed.root)).toEqual({
      'x-base': { image: 'redis:7', ports: ['6379:6379'] },
      services: { r: { image: 'redis:7.2', ports: ['6379:6379'] } },
    });
    expect(lineAt(parsed.root, ['services', 'r', 'ports', '0'])).toBe(3);
    expect(lineAt(parsed.root, ['services', 'r', 'image'])).toBe(7);
  });

  it('reports duplicate keys and bad syntax with a line', () => {
    expect(parseYamlTree('a: 1\na: 2\n', {}).syntaxErrors[0]).toMatchObject({ line: 2 });
    expect(parseYamlTree('a:\n  b: 1\n   c: 2\n', {}).syntaxErrors.length).toBeGreaterThan(0);
  });
});

describe('command lines', () => {
  it('splits like a POSIX shell and cuts scripts into simple commands', () => {
    expect(splitWords(`redis-server --requirepass "a b" --x 'c d' e\\ f`)).toEqual(['redis-server', '--requirepass', 'a b', '--x', 'c d', 'e f']);
    expect(simpleCommands('while true; do php artisan schedule:run & sleep 60; done')).toEqual([
      ['true'],
      ['php', 'artisan', 'schedule:run'],
      ['sleep', '60'],
      ['done'],
    ]);
  });

  it('reads worker job timeouts from rqctl and artisan command lines', () => {
    expect(classifyCommandLine('rqctl worker --queue default --timeout 120')).toMatchObject({ kind: 'rqctl-worker', timeout: 120, timeoutExplicit: true });
    expect(classifyCommandLine('node /app/bin/rqctl.js worker --timeout=5m')).toMatchObject({ kind: 'rqctl-worker', timeout: 300 });
    expect(classifyCommandLine('rqctl worker')).toMatchObject({ kind: 'rqctl-worker', timeout: 300, timeoutExplicit: false });
    expect(classifyCommandLine('rqctl worker restart').kind).toBe('other');
    expect(classifyCommandLine('php /var/www/html/artisan queue:work redis --sleep=3 --timeout=300')).toMatchObject({ kind: 'artisan-worker', timeout: 300 });
    expect(classifyCommandLine('php artisan queue:work')).toMatchObject({ kind: 'artisan-worker', timeout: 60 });
    expect(classifyCommandLine('/bin/bash -c "while true; do php artisan schedule:run; sleep 60; done"').kind).toBe('artisan-scheduler');
    expect(classifyCommandLine('supervisord -c /etc/supervisor/supervisord.conf')).toMatchObject({
      kind: 'supervisord',
      configFile: '/etc/supervisor/supervisord.conf',
    });
  });

  it('converts sizes and durations as Redis, Docker and compose write them', () => {
    expect(redisBytes('256mb')).toBe(256 * 1024 ** 2);
    expect(redisBytes('1g')).toBe(1e9);
    expect(redisBytes('1.5gb')).toBeUndefined();
    expect(dockerBytes('384M')).toBe(384 * 1024 ** 2);
    expect(dockerBytes('1g')).toBe(1024 ** 3);
    expect(composeSeconds('1m30s')).toBe(90);
    expect(composeSeconds('360s')).toBe(360);
    expect(composeSeconds('10x')).toBeUndefined();
  });
});
