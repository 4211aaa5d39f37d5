import type { WebAuthnConfig } from '../../config/types.js';
import { ATTESTATION_FORMATS, type AttestationFormatName, type WebAuthnSettings } from './types.js';

/**
 * The ceremony settings from validated `device.webauthn` config (which guarantees `rp_id`, at
 * least one origin on it, and known formats). AAGUIDs are compared in lower case.
 *
 * @example const settings = webauthnSettings(config.device.webauthn);
 */
export function webauthnSettings(config: WebAuthnConfig): WebAuthnSettings {
  return Object.freeze({
    rpId: config.rp_id,
    rpName: config.rp_name,
    origins: Object.freeze([...config.origins]),
    attestationFormats: Object.freeze(
      ATTESTATION_FORMATS.filter((f): f is AttestationFormatName =>
        config.attestation.formats.includes(f),
      ),
    ),
    aaguids: Object.freeze(config.attestation.aaguids.map((a) => a.toLowerCase())),
    requireUserVerification: config.require_user_verification,
    operatorApproval: config.operator_approval,
    challengeTtlSeconds: config.challenge_ttl_seconds,
  });
}
