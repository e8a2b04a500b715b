#!/usr/bin/env node
// rqctl benchmarks (BENCHMARKS.md): every row measures rqctl against the raw library IN THE SAME RUN,
// alternating the order round by round, and reports medians, min–max and the ratio to the target.
//
//   npm run bench                       full run (~15 min on 2 cores)
//   npm run bench -- --quick            smoke run: small N, few rounds
//   npm run bench -- --only cli-start   one row (comma-separate several)
//   npm run bench -- --rounds 5         override the rounds of every row
//
// Writes bench/results.json (bench/results.quick.json with --quick; merged by row, so --only updates
// just that row) and prints a table.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { summary, fmt } from './lib/stats.mjs';
import { rows } from './rows/index.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');

function parseArgs(argv) {
  const opts = { quick: false, only: undefined, rounds: undefined, help: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') opts.quick = true;
    else if (a === '--only')
      opts.only = argv[++i]
        ?.split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    else if (a.startsWith('--only=')) opts.only = a.slice(7).split(',');
    else if (a === '--rounds') opts.rounds = Number(argv[++i]);
    else if (a === '--help' || a === '-h') opts.help = true;
    else throw new Error(`unknown argument ${a} (try --help)`);
  }
  return opts;
}

const log = (msg) => process.stderr.write(`[bench] ${msg}\n`);

function unitOf(row) {
  return row.kind === 'rate' ? `${row.unit ?? 'ops'}/s` : 'ms';
}

function meetsTarget(row, ratio, mine) {
  // A row with an absolute target (dashboard-overview: median ≤ 50 ms) is held against its own median.
  if (row.target === undefined) return row.maxMedianMs === undefined || mine.median <= row.maxMedianMs;
  if (!Number.isFinite(ratio)) return false;
  return row.kind === 'rate' ? ratio >= row.target : ratio <= row.target;
}

function targetText(row) {
  if (row.target === undefined) return row.extraTarget;
  const t = row.kind === 'rate' ? `≥ ${row.target}` : `≤ ${row.target}×`;
  return row.extraTarget ? `${t}, ${row.extraTarget}` : t;
}

async function runRow(row, ctx) {
  const rounds = ctx.rounds ?? (ctx.quick ? row.rounds.quick : row.rounds.full);
  const subjects = row.subjects;
  const samples = Object.fromEntries(subjects.map((s) => [s.name, { values: [], extras: [] }]));
  const state = row.setup ? await row.setup(ctx) : undefined;
  try {
    if (row.warmup) {
      log(`${row.id}: warm-up`);
      for (const s of subjects) await s.run(state, ctx, { warmup: true });
    }
    for (let r = 0; r < rounds; r++) {
      // Rotate the order every round, so neither side always runs first (caches, JIT, CPU boost).
      const order = subjects.map((_, i) => subjects[(i + r) % subjects.length]);
      for (const s of order) {
        if (row.before) await row.before(state, ctx, s);
        const res = await s.run(state, ctx, { warmup: false });
        samples[s.name].values.push(res.value);
        if (res.extra) samples[s.name].extras.push(res.extra);
        log(`${row.id}: round ${r + 1}/${rounds} ${s.name}: ${fmt(res.value)} ${unitOf(row)}${res.extra ? ' ' + JSON.stringify(res.extra) : ''}`);
      }
    }
  } finally {
    if (row.teardown) await row.teardown(state, ctx);
  }
  const baseline = subjects.find((s) => s.baseline);
  const base = summary(samples[baseline.name].values);
  const results = [];
  for (const s of subjects) {
    if (s.baseline) continue;
    const mine = summary(samples[s.name].values);
    const ratio = mine.median / base.median;
    const extras = mergeExtras(samples[s.name].extras);
    const extrasBase = mergeExtras(samples[baseline.name].extras);
    // checkExtra sees the worst value of each extra over the rounds, and the medians of both sides.
    const extraOk = row.checkExtra ? row.checkExtra(extras, medianExtras(samples[s.name].extras), medianExtras(samples[baseline.name].extras)) : true;
    results.push({
      row: row.id,
      title: row.title,
      subject: s.name,
      baseline: baseline.name,
      measure: row.measure,
      kind: row.kind,
      unit: unitOf(row),
      n: row.n?.(ctx),
      rounds,
      rqctl: mine,
      raw: base,
      ratio,
      target: targetText(row),
      extra: extras,
      extraBaseline: extrasBase,
      extraMedian: medianExtras(samples[s.name].extras),
      extraBaselineMedian: medianExtras(samples[baseline.name].extras),
      pass: meetsTarget(row, ratio, mine) && extraOk,
    });
  }
  return results;
}

/** Per-run numeric extras → the median of each across rounds (CPU per job is compared by its medians). */
function medianExtras(list) {
  if (!list.length) return undefined;
  const out = {};
  for (const k of Object.keys(list[0])) {
    const vs = list.map((e) => e[k]).filter((v) => typeof v === 'number');
    if (vs.length) out[k] = summary(vs).median;
  }
  return out;
}

/** Per-run extras (peak RSS, max stall …) → the worst value seen across rounds. */
function mergeExtras(list) {
  if (!list.length) return undefined;
  const out = {};
  for (const e of list) for (const [k, v] of Object.entries(e)) out[k] = typeof v === 'number' ? Math.max(out[k] ?? -Infinity, v) : v;
  return out;
}

function extraText(extra) {
  if (!extra) return '';
  return Object.entries(extra)
    .map(([k, v]) => `${k} ${typeof v === 'number' ? fmt(v) : v}`)
    .join(', ');
}

function printTable(entries) {
  const head = ['row', 'rqctl median (min–max)', 'raw median (min–max)', 'ratio', 'target', 'ok', 'notes'];
  const body = entries.map((r) =>
    r.skipped
      ? [r.title, '—', '—', '—', r.target, 'skip', r.reason]
      : [
          `${r.title}${r.subject !== 'rqctl' ? ` [${r.subject}]` : ''}`,
          `${fmt(r.rqctl.median)} (${fmt(r.rqctl.min)}–${fmt(r.rqctl.max)}) ${r.unit}`,
          `${fmt(r.raw.median)} (${fmt(r.raw.min)}–${fmt(r.raw.max)}) ${r.unit}`,
          r.ratio.toFixed(2),
          r.target,
          r.pass ? 'yes' : 'NO',
          [extraText(r.extra), r.extraBaseline ? `raw: ${extraText(r.extraBaseline)}` : ''].filter(Boolean).join('; '),
        ],
  );
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => String(b[i]).length)));
  const line = (cells) => cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ');
  process.stdout.write(`${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('-|-')}\n${body.map(line).join('\n')}\n`);
}

function environment() {
  let redis = '?';
  try {
    redis = execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).trim();
  } catch {}
  return {
    node: process.version,
    redis,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memGb: Math.round(totalmem() / 2 ** 30),
    platform: `${process.platform} ${process.arch}`,
  };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.help) {
    process.stdout.write(`usage: node bench/run.mjs [--quick] [--only ${rows.map((r) => r.id).join(',')}] [--rounds N]\n`);
    return;
  }
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` first (npm run bench does)');
  const selected = opts.only ? rows.filter((r) => opts.only.includes(r.id)) : rows;
  if (opts.only) {
    const unknown = opts.only.filter((id) => !rows.some((r) => r.id === id));
    if (unknown.length) throw new Error(`unknown row ${unknown.join(', ')}; rows: ${rows.map((r) => r.id).join(', ')}`);
  }
  const ctx = { quick: opts.quick, rounds: opts.rounds, root: ROOT, bin: join(ROOT, 'bin', 'rqctl.js'), log };
  const results = [];
  const skipped = [];
  /** Results and skips in row order, for the table. */
  const ordered = [];
  const started = Date.now();
  for (const row of selected) {
    const why = row.unavailable ? await row.unavailable(ctx) : undefined;
    if (why) {
      log(`${row.id}: skipped: ${why}`);
      const skip = { row: row.id, title: row.title, target: targetText(row), reason: why };
      skipped.push(skip);
      ordered.push({ ...skip, skipped: true });
      continue;
    }
    const t0 = Date.now();
    log(`${row.id}: ${row.measure}`);
    try {
      const rowResults = await runRow(row, ctx);
      results.push(...rowResults);
      ordered.push(...rowResults);
    } catch (e) {
      log(`${row.id}: FAILED: ${e.stack ?? e}`);
      const skip = { row: row.id, title: row.title, target: targetText(row), reason: `error: ${String(e.message ?? e).split('\n')[0]}` };
      skipped.push(skip);
      ordered.push({ ...skip, skipped: true });
    }
    log(`${row.id}: done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  process.stdout.write(`\nrqctl benchmarks (${opts.quick ? 'quick' : 'full'}), ${((Date.now() - started) / 1000).toFixed(0)} s\n\n`);
  printTable(ordered);

  // A smoke run never overwrites the recorded figures.
  const file = join(HERE, opts.quick ? 'results.quick.json' : 'results.json');
  let previous = { rows: [] };
  if (opts.only && existsSync(file)) {
    try {
      previous = JSON.parse(readFileSync(file, 'utf8'));
    } catch {}
  }
  const ran = new Set(selected.map((r) => r.id));
  const doc = {
    generatedAt: new Date().toISOString(),
    mode: opts.quick ? 'quick' : 'full',
    command: `npm run bench${process.argv.length > 2 ? ' -- ' + process.argv.slice(2).join(' ') : ''}`,
    environment: environment(),
    rows: [...(previous.rows ?? []).filter((r) => !ran.has(r.row)), ...results],
    skipped: [...(previous.skipped ?? []).filter((r) => !ran.has(r.row)), ...skipped],
  };
  writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
  log(`wrote ${file}`);
  const missed = results.filter((r) => !r.pass);
  if (missed.length)
    log(`${missed.length} row(s) miss their target: ${missed.map((r) => r.row + (r.subject !== 'rqctl' ? ` [${r.subject}]` : '')).join(', ')}`);
}

main().catch((e) => {
  process.stderr.write(`${e.stack ?? e}\n`);
  process.exitCode = 2;
});
