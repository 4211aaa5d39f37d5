/**
 * The session store an operator command (`gatehouse sessions`, `gatehouse devices`) works on: the
 * configured store, only when it is shared (a `memory` store lives inside the serving process, no
 * other process can reach it), opened with the serving replicas' session secret (records are
 * encrypted with it).
 */
import { loadConfig } from '../config/load.js';
import { loadSessionSecret } from '../keys/session-secret.js';
import { openSessionStore, type OpenedSessionStore } from '../store/open.js';

/**
 * Open the store configured in `configPath` for `command`, or say on `err` why it cannot be used
 * and return undefined (the caller exits with its usage code).
 *
 * @param what what the command manages, for the messages (e.g. `enrolled devices`).
 * @example
 *   const opened = await openSharedStore('gatehouse devices', 'enrolled devices', path, io.err);
 *   if (opened === undefined) return DEVICES_EXIT.usage;
 */
export async function openSharedStore(
  command: string,
  what: string,
  configPath: string | undefined,
  err: (text: string) => void,
): Promise<OpenedSessionStore | undefined> {
  const config = await loadConfig(configPath);
  if (config.session.store.kind === 'memory') {
    err(
      `${command}: session.store.kind is memory: ${what} live inside the serving\n` +
        'Gatehouse process and no other process can reach them. Configure a shared store\n' +
        `(session.store.kind: redis, docs/reference/session-store.md) to manage ${what} from\n` +
        'the command line; with memory, restarting Gatehouse ends every session.\n',
    );
    return undefined;
  }
  if (config.session.secret === undefined) {
    err(
      `${command}: session.secret is not configured: ${what} are encrypted with the serving\n` +
        "replicas' secret, and this command needs the same one.\n",
    );
    return undefined;
  }
  const secret = await loadSessionSecret({ value: config.session.secret, development: false });
  return openSessionStore(config.session.store, secret.key);
}
