import { splitWords } from './shell-words.js';

/**
 * What validate needs of a service's Dockerfile (docs/validate.md, "How files are read together"): the
 * user the final stage runs as, what it runs (CMD, ENTRYPOINT) and which files it copies in, so a
 * supervisord file can be placed in the service that really runs it and its programs' user known.
 */
export interface DockerfileInfo {
  /** The last USER of the final stage (undefined: root, the default). */
  user?: string;
  /** The final stage's ENTRYPOINT and CMD as argv (shell form becomes `sh -c …`). */
  entrypoint?: string[];
  cmd?: string[];
  /** Sources of the final stage's COPY/ADD lines (without --from= copies from other stages' files? kept: names matter). */
  copied: { sources: string[]; target: string }[];
}

/** Logical lines: `\` at the end of a line continues it; comments and blank lines dropped. */
function logicalLines(text: string): string[] {
  const out: string[] = [];
  let current = '';
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!current && (line.startsWith('#') || !line)) continue;
    if (line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    out.push(current + line);
    current = '';
  }
  if (current) out.push(current);
  return out;
}

/** `["a", "b"]` (exec form) or `a b` (shell form, run by /bin/sh -c). */
function argvOf(rest: string): string[] | undefined {
  const t = rest.trim();
  if (t.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(t);
      if (Array.isArray(parsed) && parsed.every((x) => typeof x === 'string')) return parsed;
    } catch {
      /* not JSON: Docker runs it in a shell too */
    }
  }
  return t ? ['/bin/sh', '-c', t] : undefined;
}

export function readDockerfile(text: string): DockerfileInfo {
  let info: DockerfileInfo = { copied: [] };
  for (const line of logicalLines(text)) {
    const m = /^([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const instruction = m[1].toUpperCase();
    const rest = m[2];
    if (instruction === 'FROM') info = { copied: [] };
    else if (instruction === 'USER') info.user = rest.trim().split(/\s+/)[0];
    else if (instruction === 'CMD') info.cmd = argvOf(rest);
    else if (instruction === 'ENTRYPOINT') {
      info.entrypoint = argvOf(rest);
      // A new ENTRYPOINT resets an inherited CMD.
      info.cmd = undefined;
    } else if (instruction === 'COPY' || instruction === 'ADD') {
      let words: string[];
      try {
        words = rest.trim().startsWith('[') ? (JSON.parse(rest) as string[]) : splitWords(rest);
      } catch {
        continue;
      }
      words = words.filter((w) => !w.startsWith('--'));
      if (words.length >= 2) info.copied.push({ sources: words.slice(0, -1), target: words[words.length - 1] });
    }
  }
  return info;
}
