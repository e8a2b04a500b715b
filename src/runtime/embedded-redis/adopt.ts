import { existsSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { ExitCode, RqctlError } from '../../errors.js';
import type { EventLog } from '../events.js';
import { alive, probe, type EmbeddedPaths, type ServerProcess, type State } from './host.js';

/**
 * Our server runs with its data directory as working directory: on Linux that identifies it without
 * talking to it, so a reused pid never makes rqctl connect to a server it did not start.
 */
function isOurServer(pid: number, dataDir: string): boolean {
  if (!existsSync('/proc/self/cwd')) return true; // no /proc (macOS): INFO's process_id is checked instead
  try {
    return readlinkSync(`/proc/${pid}/cwd`) === dataDir && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('redis-server');
  } catch {
    return false;
  }
}

/**
 * Left running by an earlier `rqctl up` that was killed? Take it over rather than start a second
 * server on the same data directory. Undefined when there is none (a stale state file is removed).
 */
export async function adoptLeftRunning(paths: EmbeddedPaths, password: string, log: EventLog): Promise<ServerProcess | undefined> {
  if (!existsSync(paths.stateFile)) return undefined;
  let state: State | undefined;
  try {
    state = JSON.parse(readFileSync(paths.stateFile, 'utf8')) as State;
  } catch {
    state = undefined;
  }
  if (state && Number.isInteger(state.pid) && alive(state.pid) && isOurServer(state.pid, paths.dataDir)) {
    const p = await probe(state.port, password, 2000);
    if (p.ok && Number(p.info.process_id) === state.pid) {
      log({
        event: 'redis-adopted',
        pid: state.pid,
        port: state.port,
        msg: `reusing the embedded redis-server an earlier \`rqctl up\` left running (pid ${state.pid})`,
      });
      return { pid: state.pid, port: state.port, version: p.info.redis_version ?? '?', adopted: true };
    }
    throw new RqctlError(
      'EMBEDDED_REDIS_BUSY',
      ExitCode.unreachable,
      `a redis-server (pid ${state.pid}) from an earlier \`rqctl up\` still uses ${paths.dataDir} but does not answer on port ${state.port}`,
      {
        hint: `stop it (kill ${state.pid}) and run rqctl up again`,
      },
    );
  }
  rmSync(paths.stateFile, { force: true });
  return undefined;
}
