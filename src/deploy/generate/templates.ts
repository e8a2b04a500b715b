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

/** Replaces `{{name}}`; a name without a value is a bug in the template, not something to leave behind. */
export function renderTemplate(text: string, vars: Record<string, string | number>): string {
  return text.replace(/\{\{\s*([A-Za-z][A-Za-z0-9_]*)\s*\}\}/g, (_m, name: string) => {
    if (!(name in vars)) throw new Error(`template variable {{${name}}} has no value`);
    return String(vars[name]);
  });
}
