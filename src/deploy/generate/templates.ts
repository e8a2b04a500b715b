import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** templates/ at the package root: the same relative place from src/deploy/generate and dist/deploy/generate. */
export function templatesDir(): string {
  return fileURLToPath(new URL('../../../templates/', import.meta.url));
}

export function readTemplate(name: string): string {
  return readFileSync(join(templatesDir(), name), 'utf8');
}

/**
 * Replaces `{{name}}`; a name without a value is a bug in the template, not something to leave behind.
 * A line that is only `{{#flag}}` or `{{^flag}}` opens a block kept when the flag is true (`#`) or
 * false (`^`), up to a line that is only `{{/flag}}`; the marker lines themselves are dropped.
 */
export function renderTemplate(text: string, vars: Record<string, string | number | boolean>): string {
  return renderSections(text, vars).replace(/\{\{\s*([A-Za-z][A-Za-z0-9_]*)\s*\}\}/g, (_m, name: string) => {
    if (!(name in vars)) throw new Error(`template variable {{${name}}} has no value`);
    return String(vars[name]);
  });
}

function renderSections(text: string, vars: Record<string, string | number | boolean>): string {
  if (!text.includes('{{#') && !text.includes('{{^')) return text;
  const out: string[] = [];
  const open: { name: string; keep: boolean }[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*\{\{([#^/])\s*([A-Za-z][A-Za-z0-9_]*)\s*\}\}\s*$/.exec(line);
    if (m) {
      const [, kind, name] = m;
      if (kind === '/') {
        if (open.pop()?.name !== name) throw new Error(`template block {{/${name}}} closes nothing`);
      } else {
        if (!(name in vars)) throw new Error(`template variable {{${kind}${name}}} has no value`);
        open.push({ name, keep: kind === '#' ? !!vars[name] : !vars[name] });
      }
      continue;
    }
    if (open.every((b) => b.keep)) out.push(line);
  }
  if (open.length) throw new Error(`template block {{${open[0].name}}} is never closed`);
  return out.join('\n');
}
