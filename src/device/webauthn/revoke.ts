import type { SessionStore } from '../../store/types.js';
import type { DeviceRegistry } from './types.js';

/** What revoking a device did. */
export interface DeviceRevocation {
  /** False when the device is unknown. */
  readonly revoked: boolean;
  /** The sessions that had proved possession of it, now revoked (every replica). */
  readonly sessions: readonly string[];
}

/**
 * Revoke a device (final) and every session bound to it: the sessions of its user whose record
 * names it (`device_id`, set by a proof of possession). The store announces each revoked session
 * on its change feed, so every replica drops it. A session record that cannot be read is left
 * to its own checks (it fails closed at its next use).
 *
 * @throws GatehouseError `ERR_SESSION_STORE_UNAVAILABLE` when the store cannot be reached (the
 *   device may then be revoked and some sessions not yet: run it again).
 * @example await revokeDevice(store, registry, id);
 */
export async function revokeDevice(
  store: Pick<SessionStore, 'list' | 'revoke'>,
  registry: DeviceRegistry,
  id: string,
): Promise<DeviceRevocation> {
  const device = await registry.get(id);
  if (device === undefined) return { revoked: false, sessions: [] };
  await registry.revoke(id);
  const sessions: string[] = [];
  for (const s of await store.list({ sub: device.sub, limit: 100_000 })) {
    const session = s.data['session'];
    if (
      typeof session === 'object' &&
      session !== null &&
      !Array.isArray(session) &&
      (session as Readonly<Record<string, unknown>>)['device_id'] === id &&
      (await store.revoke(s.sid))
    )
      sessions.push(s.sid);
  }
  return { revoked: true, sessions };
}
