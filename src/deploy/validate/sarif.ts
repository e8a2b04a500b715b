import type { Rule } from './rules/types.js';
import type { Finding } from './finding.js';

/**
 * SARIF 2.1.0 (the format GitHub code scanning and most CI annotators read): one run, rqctl as the
 * tool with the whole rule catalogue, one result per finding with its file, line and logical path.
 */
export function toSarif(findings: Finding[], rules: readonly Rule[], toolVersion: string): object {
  const index = new Map(rules.map((r, i) => [r.id, i]));
  const level = (s: Finding['severity']) => (s === 'info' ? 'note' : s);
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'rqctl',
            version: toolVersion,
            informationUri: 'https://www.npmjs.com/package/rqctl',
            rules: rules.map((r) => ({
              id: r.id,
              name: r.id.replace(/(^|-)([a-z])/g, (_m, _d: string, c: string) => c.toUpperCase()),
              shortDescription: { text: r.description },
              fullDescription: { text: r.rationale ? `${r.description}. ${r.rationale}` : r.description },
              defaultConfiguration: { level: level(r.severity) },
              properties: { severity: r.severity },
            })),
          },
        },
        columnKind: 'unicodeCodePoints',
        originalUriBaseIds: { SRCROOT: { description: { text: 'the folder rqctl config validate ran in' } } },
        results: findings.map((f) => ({
          ruleId: f.rule,
          ...(index.has(f.rule) ? { ruleIndex: index.get(f.rule) } : {}),
          level: level(f.severity),
          message: { text: `${f.message}. Fix: ${f.fix}` },
          locations: [
            {
              physicalLocation: {
                artifactLocation: f.file.startsWith('/') ? { uri: `file://${encodeURI(f.file)}` } : { uri: encodeURI(f.file), uriBaseId: 'SRCROOT' },
                region: { startLine: Math.max(1, f.line) },
              },
              ...(f.path ? { logicalLocations: [{ fullyQualifiedName: f.path }] } : {}),
            },
          ],
          properties: { path: f.path, fix: f.fix },
        })),
      },
    ],
  };
}
