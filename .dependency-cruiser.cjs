/**
 * Import directions of the house (STYLE.md, docs/architecture.md): a thin CLI over a library core.
 * `npm run lint` runs this; a violation fails CI.
 *
 *   cli      → anything
 *   runtime  → jobs, schedule, queue, cache, limits, redis, metrics, alerts, dashboard (for up), config, errors, util   (long-running processes)
 *   dashboard → queue, cache, limits, redis, schedule, doctor, jobs, metrics, runtime's worker registry and event type, config, errors, util
 *   doctor   → redis, queue, cache, schedule, jobs (the registry), runtime's worker registry, config, errors, util
 *   metrics  → jobs (types), schedule, queue, cache, limits (status), redis, runtime's worker registry and event type, config, errors, util
 *   alerts   → metrics, schedule, queue, redis, providers (mail, user agent), runtime's worker registry and event type, config, errors, util
 *   schedule → jobs, queue, redis, config, errors, util
 *   jobs     → providers, cache, queue, limits, redis, config, errors, util
 *   limits   → redis, config, errors, util   (provider rate limits in the queue role)
 *   queue, cache → redis, config, errors, util
 *   redis, providers → config, errors, util
 *   deploy   → config, errors, util, and the Redis facts it shares with doctor (src/redis/facts*, src/redis/acl/)
 *              generate/ and validate/ never import apply/; validate/ never imports generate/
 *   config   → errors, util
 *   errors, util → nothing of rqctl
 */
const allowed = {
  runtime: 'jobs|schedule|queue|cache|limits|redis|metrics|alerts|dashboard|config|errors|util',
  metrics: 'jobs|schedule|queue|cache|limits|redis|runtime/(worker-registry|events)|config|errors|util',
  alerts: 'metrics|schedule|queue|redis|providers|runtime/(worker-registry|events)|config|errors|util',
  dashboard: 'queue|cache|limits|redis|schedule|doctor|jobs|metrics|runtime/worker-registry|runtime/events|config|errors|util',
  doctor: 'redis|queue|cache|schedule|jobs|runtime/worker-registry|config|errors|util',
  schedule: 'jobs|queue|redis|config|errors|util',
  jobs: 'providers|cache|queue|limits|redis|config|errors|util',
  limits: 'redis|config|errors|util',
  queue: 'redis|config|errors|util',
  cache: 'redis|config|errors|util',
  redis: 'config|errors|util',
  providers: 'config|errors|util',
  deploy: 'config|errors|util|redis/facts|redis/acl',
  config: 'errors|util',
  util: '',
};

const layerRules = Object.entries(allowed).map(([from, to]) => ({
  name: `${from}-imports`,
  comment: `src/${from} may import only ${to ? to.split('|').join(', ') : 'nothing of rqctl'} (see the header of this file)`,
  severity: 'error',
  from: { path: `^src/${from}/` },
  to: { path: '^src/', pathNot: [`^src/${from}/`, ...(to ? [`^src/(${to})(/|\\.ts$)`] : [])] },
}));

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'import cycles make load order and lazy imports fragile', from: {}, to: { circular: true } },
    {
      name: 'only-cli-imports-cli',
      severity: 'error',
      comment: 'the core never prints, exits or parses argv',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'cli-libraries-in-cli-only',
      severity: 'error',
      comment: 'commander, chalk, ora, cli-table3 and prompts belong to the CLI layer',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: 'node_modules/(commander|chalk|ora|cli-table3|@inquirer)/' },
    },
    {
      name: 'errors-imports-nothing',
      severity: 'error',
      from: { path: '^src/errors\\.ts$' },
      to: { path: '^src/' },
    },
    {
      name: 'deploy-rooms',
      severity: 'error',
      comment: 'generate/ and validate/ never import apply/ (deploy uses them, not the other way round)',
      from: { path: '^src/deploy/(generate|validate)/' },
      to: { path: '^src/deploy/apply/' },
    },
    {
      name: 'validate-not-generate',
      severity: 'error',
      from: { path: '^src/deploy/validate/' },
      to: { path: '^src/deploy/generate/' },
    },
    ...layerRules,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|test|bench|scripts)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
