/**
 * Cross-field checks of `session.store`, run by the config validator at start (src/config/validate.ts).
 */
import { accessSync, constants } from 'node:fs';
import type { SessionStoreConfig } from './types.js';

/**
 * Push a problem (naming the key) for every inconsistency in `session.store`.
 *
 * @example checkSessionStore(config.session.store, problems);
 */
export function checkSessionStore(store: SessionStoreConfig, problems: string[]): void {
  if (store.kind === 'memory') {
    for (const key of ['url', 'username', 'password', 'tls'] as const) {
      if (store[key] !== undefined)
        problems.push(`session.store.${key}: only with session.store.kind: redis`);
    }
    return;
  }
  if (store.url === undefined) {
    problems.push('session.store.url: required with session.store.kind: redis');
    return;
  }
  let url: URL;
  try {
    url = new URL(store.url);
  } catch {
    // The URL may hold a password: never echo it.
    problems.push('session.store.url: not a URL (expected redis://HOST:PORT or rediss://…)');
    return;
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    problems.push(`session.store.url: expected redis:// or rediss://, got ${url.protocol}//`);
    return;
  }
  if (store.tls !== undefined && url.protocol !== 'rediss:')
    problems.push('session.store.tls: needs a rediss:// URL (TLS)');
  const ca = store.tls?.ca_file;
  if (ca !== undefined) {
    try {
      accessSync(ca, constants.R_OK);
    } catch (err) {
      problems.push(
        `session.store.tls.ca_file: cannot read ${ca}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      );
    }
  }
}
