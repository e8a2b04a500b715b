import {
  composeEnvFileMissing,
  composeSchema,
  composeVariableUnset,
  redisConfInvalid,
  supervisorDuplicate,
  supervisorParse,
  supervisorUnknownKey,
} from './parse.js';
import { redisConfVariable, redisNoAuth, redisPasswordCmdline, redisPasswordLiteral, redisProtectedModeOff } from './redis-auth.js';
import {
  redisDangerousCommands,
  redisDebugCommand,
  redisMemoryHeadroom,
  redisNoMaxmemory,
  redisPortPublic,
  redisQueueEviction,
  redisQueuePersistence,
} from './redis-server.js';
import { containerHardening, dockerSocketMounted } from './docker.js';
import { supervisorAutorestart, supervisorHttpExposed, supervisorProcessName, supervisorRootUser, supervisorSocketPerms } from './supervisor.js';
import { timeoutChain } from './timeout-chain.js';
import { fileTooLarge, notChecked } from './coverage.js';
import { composeConsistency } from './compose-consistency.js';
import { redisConfVersion } from './parse.js';
import { ACL_RULES } from './acl.js';
import { dashboardExposed } from './dashboard.js';
import type { Rule } from './types.js';

/** The rule catalogue, in the order of docs/validate.md, then rqctl's additions. */
export const RULES: readonly Rule[] = [
  composeSchema,
  redisNoAuth,
  redisPasswordLiteral,
  redisPasswordCmdline,
  redisPortPublic,
  redisProtectedModeOff,
  redisDangerousCommands,
  redisNoMaxmemory,
  redisQueueEviction,
  redisQueuePersistence,
  redisMemoryHeadroom,
  redisDebugCommand,
  redisConfInvalid,
  dockerSocketMounted,
  containerHardening,
  supervisorParse,
  supervisorDuplicate,
  supervisorProcessName,
  supervisorAutorestart,
  supervisorRootUser,
  supervisorHttpExposed,
  supervisorSocketPerms,
  timeoutChain,
  // Beyond the original catalogue:
  redisConfVariable,
  supervisorUnknownKey,
  composeVariableUnset,
  composeEnvFileMissing,
  // Precision on real-world files (docs/validate.md, "What is not checked"):
  composeConsistency,
  redisConfVersion,
  notChecked,
  fileTooLarge,
  // Redis ACL users (docs/acl.md):
  ...ACL_RULES,
  dashboardExposed,
];

/** A rule as `rqctl config rules` shows it. */
export type RuleEntry = Pick<Rule, 'id' | 'severity' | 'description' | 'rationale'>;

export function ruleCatalogue(): RuleEntry[] {
  return RULES.map((r) => ({ id: r.id, severity: r.severity, description: r.description, ...(r.rationale ? { rationale: r.rationale } : {}) }));
}

export type { Rule } from './types.js';
