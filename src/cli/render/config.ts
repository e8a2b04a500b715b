import { createRequire } from 'node:module';
import type { Output } from '../render.js';
import type { AclReport } from '../../deploy/acl/aclfiles.js';
import type { GenerateReport } from '../../deploy/generate/generate.js';
import type { Finding } from '../../deploy/validate/finding.js';
import type { ValidateResult } from '../../deploy/validate/index.js';
import type { RuleEntry } from '../../deploy/validate/rules/index.js';

/** How `rqctl config generate`, `config validate` and `config rules` print their results. */

export function printGenerated(out: Output, report: GenerateReport, acl = false): void {
  out.result(report, () => {
    for (const f of report.files) out.line(`${f.status === 'written' ? out.c.green('wrote    ') : out.c.dim('unchanged')} ${f.path}`);
  });
  if (acl)
    out.info(
      `next: set REDIS_ACL_WORKER_PASSWORD, REDIS_ACL_APP_PASSWORD, REDIS_ACL_OPERATOR_PASSWORD and REDIS_ACL_HEALTHCHECK_PASSWORD (see .env.production.example), then \`rqctl config acl${report.topology === 'single' ? ' --topology single' : ''}\` (or let \`rqctl deploy\` write the aclfiles)`,
    );
  else out.info(`next: set REDIS_PASSWORD (see .env.production.example), then \`rqctl config validate\` and \`rqctl deploy\``);
}

/** `rqctl config acl`: the files written, and their users. */
export function printAclFiles(out: Output, report: AclReport): void {
  out.result(report, () => {
    for (const f of report.files)
      out.line(`${f.status === 'written' ? out.c.green('wrote    ') : out.c.dim('unchanged')} ${f.path} (mode 0600): ${f.users.join(', ')}`);
  });
  out.info(
    'the files hold SHA-256 hashes of the passwords, never the passwords; keep them out of git (`rqctl config generate --acl` adds docker/*.acl to .gitignore)',
  );
}

export type ValidateFormat = 'table' | 'json' | 'sarif';

export async function printValidation(out: Output, result: ValidateResult, format: ValidateFormat): Promise<void> {
  if (format === 'sarif') {
    const { toSarif } = await import('../../deploy/validate/sarif.js');
    const { RULES } = await import('../../deploy/validate/rules/index.js');
    out.line(JSON.stringify(toSarif(result.findings, RULES, version()), null, 2));
  } else if (format === 'json') out.line(JSON.stringify({ findings: result.findings, summary: result.summary, files: result.files }));
  else printFindings(out, result);
}

function version(): string {
  return (createRequire(import.meta.url)('../../../package.json') as { version: string }).version;
}

/** Findings grouped by file: line, severity, rule, message and path, then the fix. */
function printFindings(out: Output, { findings, summary, files }: ValidateResult): void {
  const sev = (s: Finding['severity']) => (s === 'error' ? out.c.red('error  ') : s === 'warning' ? out.c.yellow('warning') : out.c.cyan('info   '));
  // One pass to group, one to measure, one to print: linear in the number of findings.
  const byFile = new Map<string, Finding[]>();
  for (const f of findings) {
    const list = byFile.get(f.file);
    if (list) list.push(f);
    else byFile.set(f.file, [f]);
  }
  for (const [file, list] of byFile) {
    out.line(out.c.bold(file));
    let lw = 1;
    let rw = 1;
    for (const f of list) {
      lw = Math.max(lw, String(f.line).length);
      rw = Math.max(rw, f.rule.length);
    }
    for (const f of list) {
      out.line(`  ${String(f.line).padStart(lw)}  ${sev(f.severity)}  ${f.rule.padEnd(rw)}  ${f.message}${f.path ? out.c.dim(`  [${f.path}]`) : ''}`);
      out.line(`  ${' '.repeat(lw)}  ${' '.repeat(7)}  ${' '.repeat(rw)}  ${out.c.dim(`fix: ${f.fix}`)}`);
    }
    out.line();
  }
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
  out.line(`${plural(summary.error, 'error')}, ${plural(summary.warning, 'warning')}, ${summary.info} info in ${plural(files.length, 'file')}`);
}

export function printRules(out: Output, rules: RuleEntry[]): void {
  out.result({ rules }, () =>
    out.line(
      out.table(
        ['rule', 'severity', 'finds'],
        rules.map((r) => [r.id, r.severity, r.description]),
      ),
    ),
  );
}
