/**
 * A strict reader of the Prometheus text format (0.0.4), enough to check an exposition as a scraper
 * would: every line is a sample, a `# HELP`/`# TYPE` comment or blank; a sample belongs to the family
 * its TYPE declared (a histogram's `_bucket`, `_sum` and `_count` included); label values are
 * unescaped. Anything else throws, so a malformed line fails the test.
 */
export interface MetricFamily {
  name: string;
  help: string;
  type: 'GAUGE' | 'COUNTER' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
  /** Gauges and counters: one per sample. Histograms: one per label set, with buckets (by `le`), count and sum. */
  metrics: { value?: string; labels?: Record<string, string>; buckets?: Record<string, string>; count?: string; sum?: string }[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const VALUE = /^(?:[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?Inf|NaN)$/;

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf('=', i);
    const name = text.slice(i, eq);
    if (eq < 0 || !/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name) || text[eq + 1] !== '"') throw new Error(`bad label in: ${line}`);
    let j = eq + 2;
    let value = '';
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === '\\') {
        const c = text[++j];
        if (c === 'n') value += '\n';
        else if (c === '\\' || c === '"') value += c;
        else throw new Error(`bad escape in: ${line}`);
      } else if (text[j] === '\n') throw new Error(`newline in label value: ${line}`);
      else value += text[j];
    }
    if (j >= text.length) throw new Error(`unterminated label value in: ${line}`);
    if (name in labels) throw new Error(`label ${name} twice in: ${line}`);
    labels[name] = value;
    i = j + 1;
    if (i < text.length) {
      if (text[i] !== ',') throw new Error(`expected , in: ${line}`);
      i++;
    }
  }
  return labels;
}

function parseSample(line: string): { name: string; labels: Record<string, string>; value: string } {
  const brace = line.indexOf('{');
  const space = line.lastIndexOf(' ');
  const name = brace >= 0 ? line.slice(0, brace) : line.slice(0, space);
  const labelText = brace >= 0 ? line.slice(brace + 1, line.lastIndexOf('}')) : '';
  if (brace >= 0 && line.lastIndexOf('}') !== space - 1) throw new Error(`bad sample: ${line}`);
  const value = line.slice(space + 1);
  if (!NAME.test(name) || !VALUE.test(value)) throw new Error(`bad sample: ${line}`);
  return { name, labels: parseLabels(labelText, line), value };
}

export function parseExposition(text: string): Map<string, MetricFamily> {
  const families = new Map<string, MetricFamily>();
  const histograms = new Map<string, Map<string, NonNullable<MetricFamily['metrics'][number]>>>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const comment = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (comment) {
      const [, what, name, rest] = comment;
      if (!NAME.test(name)) throw new Error(`bad name: ${line}`);
      const f = families.get(name) ?? { name, help: '', type: 'UNTYPED' as const, metrics: [] };
      if (what === 'HELP') f.help = rest;
      else if (/^(counter|gauge|histogram|summary|untyped)$/.test(rest)) f.type = rest.toUpperCase() as MetricFamily['type'];
      else throw new Error(`bad TYPE: ${line}`);
      families.set(name, f);
      continue;
    }
    if (line.startsWith('#')) throw new Error(`unexpected comment: ${line}`);
    const s = parseSample(line);
    const base = s.name.replace(/_(bucket|sum|count)$/, '');
    const hist = families.get(base);
    if (hist?.type === 'HISTOGRAM' && base !== s.name) {
      const { le, ...labels } = s.labels;
      const key = JSON.stringify(labels);
      const byLabels = histograms.get(base) ?? new Map();
      histograms.set(base, byLabels);
      const m = byLabels.get(key) ?? { labels, buckets: {} };
      if (!byLabels.has(key)) {
        byLabels.set(key, m);
        hist.metrics.push(m);
      }
      if (s.name.endsWith('_bucket')) {
        if (le === undefined) throw new Error(`bucket without le: ${line}`);
        m.buckets![le] = s.value;
      } else if (s.name.endsWith('_sum')) m.sum = s.value;
      else m.count = s.value;
      continue;
    }
    const f = families.get(s.name);
    if (!f) throw new Error(`sample without TYPE: ${line}`);
    f.metrics.push({ value: s.value, labels: s.labels });
  }
  return families;
}

/** The value of the first sample of `name` whose labels include `labels` (undefined when none). */
export function sampleValue(families: Map<string, MetricFamily>, name: string, labels: Record<string, string> = {}): number | undefined {
  const m = families.get(name)?.metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v));
  return m?.value === undefined ? undefined : Number(m.value);
}
