import { hit, type Rule, type RuleHit } from './types.js';

/**
 * Compose's own consistency checks that the compose-spec JSON schema does not express: `docker compose`
 * refuses every command on such a file.
 */
export const composeConsistency: Rule = {
  id: 'compose-consistency',
  severity: 'error',
  description: '`container_name` with more than one replica, two services with one container name, or a `depends_on`/`links`/`volumes_from` naming no service',
  rationale: 'The schema accepts these, but `docker compose` refuses the whole file (up, config, pull): nothing deploys.',
  check(stack) {
    const out: RuleHit[] = [];
    const allServices = new Set(stack.compose.flatMap((c) => c.model.services.map((s) => s.name)));
    for (const c of stack.compose) {
      const names = new Map<string, string>();
      for (const svc of c.model.services) {
        const cn = svc.containerName;
        if (cn && svc.replicas && svc.replicas.value > 1)
          out.push(
            hit(
              { file: c.input.file, line: cn.line, path: cn.path },
              `service "${svc.name}" sets container_name "${cn.value}" and ${svc.replicas.value} replicas: compose refuses ("container name must be unique")`,
              'drop container_name (compose names replicas itself), or run one replica',
            ),
          );
        if (cn) {
          const first = names.get(cn.value);
          if (first)
            out.push(
              hit(
                { file: c.input.file, line: cn.line, path: cn.path },
                `services "${first}" and "${svc.name}" both set container_name "${cn.value}": compose refuses to create the second`,
                'give each service its own container_name, or drop container_name',
              ),
            );
          else names.set(cn.value, svc.name);
        }
      }
      // Services may come from files not read here (`include:`).
      if (c.model.includesOthers) continue;
      for (const svc of c.model.services) {
        for (const ref of svc.references) {
          if (allServices.has(ref.value)) continue;
          out.push(
            hit(
              { file: c.input.file, line: ref.line, path: ref.path },
              `service "${svc.name}" ${ref.via === 'network_mode' ? 'uses the network of' : `names in ${ref.via}`} "${ref.value}", which is no service of ${c.input.file}: compose refuses ("depends on undefined service")`,
              `define service "${ref.value}", or fix the name (services: ${[...allServices].slice(0, 8).join(', ')}${allServices.size > 8 ? ', …' : ''})`,
            ),
          );
        }
      }
    }
    return out;
  },
};
