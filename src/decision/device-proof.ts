/**
 * A decision that allows only with a device (`require_device`, `require_user_verification`):
 * the one comparison of a session's proof of possession (src/device/webauthn/mount.ts records
 * it on the session) against the requirement and `device.webauthn.proof_interval_seconds`.
 */
import type { DeviceRequirement } from './types.js';

/** What a session says about its last proof of possession (src/identity/session/types.ts). */
export interface DeviceProofFacts {
  readonly device_id?: string;
  readonly device_proved_at?: number;
  readonly device_user_verified?: boolean;
}

/** Why a session falls short of a device requirement. */
export type DeviceShortfall = 'no_proof' | 'proof_expired' | 'user_not_verified';

/**
 * What the session lacks for `requirement`; undefined when it meets it. Fails closed: no
 * session facts, a proof time in the future, or no interval (WebAuthn not configured) is unmet.
 *
 * @param intervalSeconds `device.webauthn.proof_interval_seconds`; undefined when not configured.
 * @example deviceShortfall({ userVerification: false }, session, 3600, nowSeconds)
 */
export function deviceShortfall(
  requirement: DeviceRequirement,
  facts: DeviceProofFacts | undefined,
  intervalSeconds: number | undefined,
  nowSeconds: number,
): DeviceShortfall | undefined {
  const at = facts?.device_proved_at;
  if (intervalSeconds === undefined || facts?.device_id === undefined || at === undefined)
    return 'no_proof';
  if (!Number.isFinite(at) || at > nowSeconds + 60 || nowSeconds - at > intervalSeconds)
    return 'proof_expired';
  if (requirement.userVerification && facts.device_user_verified !== true)
    return 'user_not_verified';
  return undefined;
}
