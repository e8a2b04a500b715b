import type { Role } from '../../config/endpoints.js';
import type { ParsedYaml } from './yaml-tree.js';
import type { ComposeFile, ComposeService } from './compose.js';
import type { IniSection, IniValue, ParsedIni } from './supervisord.js';
import type { RedisDirective } from './redis-conf.js';
import type { ProgramInfo } from './commands.js';
import type { ServerVersion } from './redis-versions.js';
import type { Diagnostic, Where } from './finding.js';

/**
 * Everything the rules look at, read together (docs/validate.md, "How files are read together"): compose
 * files with their services, Redis servers (a compose service with its mounted redis.conf and command
 * line, or a redis.conf alone) with their roles, supervisord files with their programs and the compose
 * services they configure. Parsers leave their findings as diagnostics for the rule of that id.
 */
/** `acl`: an aclfile of Redis ACL users (docs/acl.md). */
export type FileKind = 'compose' | 'supervisord' | 'redis' | 'acl';

export interface InputFile {
  /** As shown in findings: relative to the working directory when inside it. */
  file: string;
  absPath: string;
  kind: FileKind;
  text: string;
}

export interface ComposeInput {
  input: InputFile;
  env: Record<string, string | undefined>;
  parsed: ParsedYaml;
  plain: unknown;
  model: ComposeFile;
}

export interface RedisServer {
  /** `service "redis-cache" (docker-compose.prod.yml)` or `docker/redis.conf`. */
  label: string;
  /** Where a finding about the server as a whole points: the service's command (or the service), or line 1 of a lone redis.conf. */
  where: Where;
  roles: Role[];
  rolesReason: string;
  /** The redis.conf directives, then the command line's (which win). */
  directives: RedisDirective[];
  /** The config file named on the command line, when there is one. */
  confPath?: string;
  /** The host file read as the config, when found. */
  confFile?: string;
  /** Set when a config file is named but could not be read: absence rules stay quiet. */
  confUnknown?: string;
  /** Its config includes other files or an ACL file rqctl cannot see (auth may live there). */
  hasExternalConfig: boolean;
  service?: ComposeService;
  compose?: ComposeInput;
  /** The version its image tag says (unknown for a redis.conf alone). */
  version: ServerVersion;
  /** The official image's entrypoint drops root for the `redis` user by itself. */
  dropsPrivileges: boolean;
  /** The Docker Official Image it runs (built with protected mode off by default), when it runs one with its own entrypoint. */
  officialImage?: 'redis' | 'valkey';
}

export interface SupervisorProgram {
  name: string;
  section: IniSection;
  file: string;
  command?: IniValue;
  info: ProgramInfo;
  numprocs: number;
  /** numprocs is a %(ENV_X)s expansion: how many supervisord starts is not known here. */
  numprocsUnknown: boolean;
  numprocsValue?: IniValue;
  get(key: string): IniValue | undefined;
}

export interface SupervisorInput {
  input: InputFile;
  ini: ParsedIni;
  programs: SupervisorProgram[];
  /** The compose services whose containers run this supervisord (empty without a compose file, or when none could be found). */
  services: { service: ComposeService; compose: ComposeInput }[];
  /** A conf.d include fragment (program sections only). */
  fragment: boolean;
}

/** Something validate could not check, and why: the `not-checked` rule reports it (info). */
export interface NotChecked {
  where: Where;
  message: string;
  fix: string;
}

export interface Stack {
  cwd: string;
  files: InputFile[];
  compose: ComposeInput[];
  supervisor: SupervisorInput[];
  redis: RedisServer[];
  diagnostics: Diagnostic[];
  notChecked: NotChecked[];
  /** Values no finding may show (masked by validateFiles). */
  secrets: Set<string>;
}

/** What the readers share while building a stack: where findings and notes go, which inputs exist. */
export interface StackContext {
  cwd: string;
  diag: (d: Diagnostic) => void;
  notChecked: (note: NotChecked) => void;
  /** redis.conf files given on the command line, by absolute path. */
  redisInputs: Map<string, InputFile>;
  /** Those read as a compose service's configuration (not judged alone). */
  consumed: Set<string>;
  display: (abs: string) => string;
}
