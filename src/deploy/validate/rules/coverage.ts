import { MAX_INPUT_TEXT } from '../read-safe.js';
import { authOf } from './redis-effective-config.js';
import { diagnosticsFor, hit, type Rule, type RuleHit } from './types.js';

/**
 * What validate could not check, said rather than skipped (docs/validate.md, "What is not checked"): a
 * value from a variable or env file that is not available here is unknown, not empty, and the findings
 * that depend on it are not asserted.
 */
export const notChecked: Rule = {
  id: 'not-checked',
  severity: 'info',
  description:
    'something a check needs is not available here (an unset variable, an env_file or mounted redis.conf that was not read, a supervisord file no service runs): what was not checked and why',
  rationale: 'Unknown is not empty: asserting "no password" because CI lacks the production .env would be a false error; saying nothing would hide a gap.',
  check(stack) {
    const out: RuleHit[] = stack.notChecked.map((n) => hit(n.where, n.message, n.fix));
    for (const server of stack.redis) {
      if (server.confUnknown) continue; // said where the config was looked for
      const auth = authOf(server);
      if (auth.state !== 'unknown') continue;
      const at = auth.directive ? { file: auth.directive.file, line: auth.directive.line, path: auth.directive.path } : server.where;
      out.push(
        hit(
          at,
          auth.unknownValue
            ? `whether Redis ${server.label} requires a password is not checked: ${auth.reason}`
            : `whether Redis ${server.label} requires a password is not checked: ${auth.reason} (redis-no-auth and redis-protected-mode-off are not asserted)`,
          auth.unknownValue
            ? 'run validate with the deploy environment (or `--env-file`) to check it; compose needs the variable set anyway'
            : 'name the included file on the command line if it is in the repository',
        ),
      );
    }
    return out;
  },
};

export const fileTooLarge: Rule = {
  id: 'file-too-large',
  severity: 'error',
  description: `a named file over ${MAX_INPUT_TEXT}: not read (deployment files are small; a huge one is refused rather than parsed)`,
  rationale: 'A compose file of megabytes is a mistake or an attack on the CI that lints it (memory, time); it is not checked, so it cannot pass.',
  check: (stack) => diagnosticsFor(stack, 'file-too-large', `split the file, or check what produced it; validate reads at most ${MAX_INPUT_TEXT} per file`),
};
