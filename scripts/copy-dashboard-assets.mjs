// The dashboard's page (HTML, JS, CSS) is not TypeScript: `npm run build` copies it beside the
// built code (dist/dashboard/public), where src/dashboard/page.ts reads it at run time.
import { cpSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const from = fileURLToPath(new URL('../src/dashboard/public/', import.meta.url));
const to = fileURLToPath(new URL('../dist/dashboard/public/', import.meta.url));
rmSync(to, { recursive: true, force: true });
cpSync(from, to, { recursive: true });
