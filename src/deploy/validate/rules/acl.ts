import { basename, dirname, resolve } from 'node:path';
import { parseAclFile, summarizeRules, type AclFileUser, type ParsedAclFile } from '../../../redis/acl/aclfile.js';
import { aclServerOfFile } from '../../../redis/acl/users.js';
import { displayName, type RedisServer, type Stack } from '../model.js';
import { mountedSource } from '../redis-servers.js';
import { projectRoots, readSafely } from '../read-safe.js';
import type { Where } from '../finding.js';
import { last, whereOf } from './redis-effective-config.js';
import { hit, type Rule, type RuleHit } from './types.js';

/**
 * The acl-* rules (docs/validate.md, docs/acl.md): aclfiles named on the command line or found in
 * docker/, and the aclfile each Redis service's config names, found through the service's mounts.
 */

interface AclFileInput {
  file: string;
  absPath: string;
  /** Undefined when the file does not exist here. */
  parsed?: ParsedAclFile;
  /** The Redis servers whose `aclfile` it is. */
  servers: RedisServer[];
  /** Where a server names it (its `aclfile` directive). */
  namedAt?: Where;
}

const cache = new WeakMap<Stack, AclFileInput[]>();

/**
 * The host file behind a server's `aclfile`: mounted at that path, or — as the generated stack does,
 * copying the mounted file to a tmpfs before Redis starts — the one `.acl` file the service mounts.
 */
function aclSourceOf(server: RedisServer, containerPath: string): string | undefined {
  const svc = server.service;
  const compose = server.compose;
  if (!svc || !compose) return undefined;
  const direct = mountedSource(svc, containerPath, compose.input.absPath);
  if (direct) return direct;
  const acls = svc.volumes.filter((v) => v.type === 'bind' && v.source?.endsWith('.acl'));
  return acls.length === 1 ? resolve(dirname(compose.input.absPath), acls[0].source!) : undefined;
}

export function aclFilesOf(stack: Stack): AclFileInput[] {
  const known = cache.get(stack);
  if (known) return known;
  const byPath = new Map<string, AclFileInput>();
  const add = (absPath: string, text: string | undefined): AclFileInput => {
    let input = byPath.get(absPath);
    if (!input) {
      input = { file: displayName(absPath, stack.cwd), absPath, parsed: text === undefined ? undefined : parseAclFile(text), servers: [] };
      byPath.set(absPath, input);
    }
    return input;
  };
  for (const f of stack.files.filter((x) => x.kind === 'acl')) add(f.absPath, f.text);
  for (const server of stack.redis) {
    const d = last(server, 'aclfile');
    const path = d?.args[0]?.value;
    if (!d || !path || !server.compose) continue;
    const host = aclSourceOf(server, path);
    if (!host) continue;
    // Read as validate reads every file a compose file names (inside the project, small, regular).
    const read = byPath.has(host) ? undefined : readSafely(host, displayName(host, stack.cwd), projectRoots(server.compose.input.absPath, stack.cwd));
    if (read && !read.ok && read.refusal !== 'missing') continue;
    const input = add(host, read?.ok ? read.text : undefined);
    input.servers.push(server);
    input.namedAt ??= whereOf(d);
  }
  const out = [...byPath.values()];
  cache.set(stack, out);
  return out;
}

const at = (input: AclFileInput, line: number, user?: string): Where => ({ file: input.file, line, path: user ? `user ${user}` : '' });

function usersOf(input: AclFileInput): AclFileUser[] {
  return input.parsed?.users ?? [];
}

export const aclFileInvalid: Rule = {
  id: 'acl-file-invalid',
  severity: 'error',
  description: 'an aclfile line Redis refuses (a comment, a line not starting with `user`, a user defined twice, an unclosed selector)',
  rationale: 'Redis loads an aclfile whole or not at all: one bad line and the server does not start.',
  check(stack) {
    const out: RuleHit[] = [];
    for (const input of aclFilesOf(stack))
      for (const p of input.parsed?.problems ?? [])
        out.push(
          hit(
            at(input, p.line),
            `${input.file}:${p.line}: ${p.message}: Redis refuses the whole file and does not start`,
            'fix the line; aclfiles have no comments',
          ),
        );
    return out;
  },
};

export const aclFileMissing: Rule = {
  id: 'acl-file-missing',
  severity: 'info',
  description: 'a Redis service mounts an aclfile that does not exist here (yet)',
  rationale: 'aclfiles hold password hashes and stay out of git: they are written where the stack is deployed.',
  check(stack) {
    const out: RuleHit[] = [];
    for (const input of aclFilesOf(stack)) {
      if (input.parsed || !input.servers.length) continue;
      const server = input.servers[0];
      const ours = aclServerOfFile(basename(input.absPath));
      out.push(
        hit(
          input.namedAt ?? server.where,
          `${input.file}, the aclfile of Redis ${server.label}, does not exist here: without it Redis does not start`,
          ours
            ? `\`rqctl config acl${ours === 'single' ? ' --topology single' : ''}\` writes it from REDIS_ACL_*_PASSWORD; \`rqctl deploy\` writes it before \`up\``
            : 'create it before deploying (one `user <name> <rules…>` line per user)',
        ),
      );
    }
    return out;
  },
};

export const aclDefaultOn: Rule = {
  id: 'acl-default-on',
  severity: 'error',
  description: 'an aclfile that leaves the default user on (or does not mention it: Redis then keeps it on, with no password)',
  rationale: 'Clients that send no user name are the default user: left on, the named users restrict nobody who leaves the name out.',
  check(stack) {
    const out: RuleHit[] = [];
    const fix = 'start the file with `user default off`, and give each client its own user (`rqctl config acl` writes such files)';
    for (const input of aclFilesOf(stack)) {
      if (!input.parsed || input.parsed.problems.length) continue;
      const d = usersOf(input).find((u) => u.name === 'default');
      if (!d)
        out.push(
          hit(
            at(input, 1),
            `${input.file} has no \`user default\` line: Redis keeps the default user on, with no password and every right (requirepass is ignored)`,
            fix,
          ),
        );
      else if (summarizeRules(d.rules).on) out.push(hit(at(input, d.line, 'default'), `${input.file} leaves the default user on`, fix));
    }
    return out;
  },
};

export const aclNopass: Rule = {
  id: 'acl-nopass',
  severity: 'error',
  description: 'an enabled aclfile user with `nopass`: anyone may log in as it',
  rationale: 'nopass accepts any password, or none, for that user name.',
  check(stack) {
    const out: RuleHit[] = [];
    for (const input of aclFilesOf(stack))
      for (const u of usersOf(input)) {
        const s = summarizeRules(u.rules);
        if (s.on && s.nopass)
          out.push(
            hit(
              at(input, u.line, u.name),
              `user ${u.name} in ${input.file} has nopass: anyone who names it logs in`,
              'give it a password (`#<sha256>` or `>…`), or turn it off',
            ),
          );
      }
    return out;
  },
};

export const aclUserTooBroad: Rule = {
  id: 'acl-user-too-broad',
  severity: 'warning',
  description: 'an aclfile user other than operator with `+@all`/`allcommands` on `~*`',
  rationale: 'Every part of the stack needs a few commands on a few keys (docs/acl.md); a user that may do anything anywhere makes the others pointless.',
  check(stack) {
    const out: RuleHit[] = [];
    for (const input of aclFilesOf(stack))
      for (const u of usersOf(input)) {
        if (u.name === 'operator' || u.name === 'default') continue;
        const root = summarizeRules(u.rules);
        if (!root.on) continue;
        const broad = (root.allCommands && root.allKeys) || u.selectors.some((sel) => ((s) => s.allCommands && s.allKeys)(summarizeRules(sel)));
        if (broad)
          out.push(
            hit(
              at(input, u.line, u.name),
              `user ${u.name} in ${input.file} may run every command on every key`,
              'allow only what that part of the stack needs (docs/acl.md lists it per user; `rqctl config acl` writes it)',
            ),
          );
      }
    return out;
  },
};

export const aclSharedServer: Rule = {
  id: 'acl-shared-server',
  severity: 'info',
  description: 'a Redis server with ACL users that holds several roles: ACL rules cannot name a DB',
  rationale: 'A user allowed a key pattern has it in every DB of the server: users are told apart from the other roles by key patterns only.',
  check(stack) {
    const out: RuleHit[] = [];
    for (const server of stack.redis) {
      const d = last(server, 'aclfile');
      if (!d || server.roles.length < 2) continue;
      out.push(
        hit(
          whereOf(d),
          `Redis ${server.label} holds the ${server.roles.slice(0, -1).join(', ')} and ${server.roles.at(-1)} roles and has ACL users: ACL rules cannot be limited to a DB, so its users are told apart by key patterns (queue prefix, raffle keys, cache prefix or families, session keys), not by DB`,
          'keep QUEUE_PREFIX, CACHE_PREFIX and REDIS_ACL_SESSION_KEYS distinct, or give the cache its own server (`rqctl config generate --acl`, split topology)',
        ),
      );
    }
    return out;
  },
};

export const ACL_RULES: readonly Rule[] = [aclFileInvalid, aclFileMissing, aclDefaultOn, aclNopass, aclUserTooBroad, aclSharedServer];
