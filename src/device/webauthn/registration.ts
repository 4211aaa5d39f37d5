import { createHash } from 'node:crypto';
import {
  type AuthenticatorTransport,
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import { isoBase64URL } from '@simplewebauthn/server/helpers';
import { GatehouseError } from '../../errors/gatehouse-error.js';
import { claimChallenge, rememberChallenge } from './challenge.js';
import { asRegistrationResponse } from './response-shape.js';
import type {
  ChallengeStore,
  DeviceKind,
  DeviceRecord,
  DeviceRegistry,
  WebAuthnSettings,
} from './types.js';

/** What registration needs: settings, the registry, the challenge store, a clock (Unix ms). */
export interface CeremonyDeps {
  readonly settings: WebAuthnSettings;
  readonly registry: DeviceRegistry;
  readonly challenges: ChallengeStore;
  readonly now?: () => number;
}

/** ES256, EdDSA, RS256: what the library verifies and authenticators commonly offer. */
export const SUPPORTED_ALGORITHMS = [-7, -8, -257];

/** The WebAuthn user handle for `sub`: stable, and not the identifier itself. */
function userHandle(sub: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(createHash('sha256').update(`gatehouse-device:${sub}`, 'utf8').digest());
}

/**
 * Options for `navigator.credentials.create()` (JSON form) for user `sub`; the challenge is
 * remembered single-use for `settings.challengeTtlSeconds`. The user's enrolled devices are
 * excluded (an authenticator cannot enroll twice). Attestation is requested (`direct`) only when
 * the policy allows a format other than `none`.
 *
 * @example const options = await registrationOptions(deps, { sub, name: 'ada@example.com' });
 */
export async function registrationOptions(
  deps: CeremonyDeps,
  user: { readonly sub: string; readonly name: string },
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const { settings } = deps;
  const existing = await deps.registry.listByUser(user.sub);
  const options = await generateRegistrationOptions({
    rpName: settings.rpName,
    rpID: settings.rpId,
    userID: userHandle(user.sub),
    userName: user.name,
    timeout: settings.challengeTtlSeconds * 1000,
    attestationType: settings.attestationFormats.some((f) => f !== 'none') ? 'direct' : 'none',
    excludeCredentials: existing.map((d) => ({ id: d.id, transports: [...d.transports] })),
    authenticatorSelection: {
      residentKey: 'preferred',
      userVerification: settings.requireUserVerification ? 'required' : 'preferred',
    },
    supportedAlgorithmIDs: SUPPORTED_ALGORITHMS,
  });
  await rememberChallenge(
    deps.challenges,
    options.challenge,
    'register',
    user.sub,
    settings.challengeTtlSeconds,
  );
  return options;
}

/**
 * Verify a registration response for `sub` and enroll the device: `pending` when operator
 * approval is on, else `approved`. In order: the challenge is consumed (single use), the
 * attestation verified (signature, origin, RP ID, user presence, algorithm), then the policy
 * applied (format, AAGUID, user verification, not already enrolled).
 *
 * @returns the new record, already in the registry.
 * @throws GatehouseError `ERR_DEVICE_CHALLENGE_INVALID`, `ERR_DEVICE_PROOF_INVALID`,
 *   `ERR_DEVICE_NOT_ALLOWED`.
 */
export async function verifyRegistration(
  deps: CeremonyDeps,
  sub: string,
  body: unknown,
): Promise<DeviceRecord> {
  const { settings } = deps;
  const response = asRegistrationResponse(body);
  const { challenge } = await claimChallenge(
    deps.challenges,
    response.response.clientDataJSON,
    'register',
    sub,
  );
  let verified: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
  try {
    verified = await verifyRegistrationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: [...settings.origins],
      expectedRPID: settings.rpId,
      requireUserPresence: true,
      // Checked below, so that a missing UV is a policy refusal with its own code.
      requireUserVerification: false,
      supportedAlgorithmIDs: SUPPORTED_ALGORITHMS,
    });
  } catch (cause) {
    throw new GatehouseError('ERR_DEVICE_PROOF_INVALID', { cause });
  }
  if (!verified.verified)
    throw new GatehouseError('ERR_DEVICE_PROOF_INVALID', { cause: new Error('not verified') });
  const info = verified.registrationInfo;
  const refuse = (why: string): never => {
    throw new GatehouseError('ERR_DEVICE_NOT_ALLOWED', { cause: new Error(why) });
  };
  if (!(settings.attestationFormats as readonly string[]).includes(info.fmt))
    refuse(`attestation format ${info.fmt} not allowed`);
  const aaguid = info.aaguid.toLowerCase();
  if (settings.aaguids.length > 0 && !settings.aaguids.includes(aaguid))
    refuse(`AAGUID ${aaguid} not allowed`);
  if (settings.requireUserVerification && !info.userVerified)
    refuse('user verification required but not performed');
  const transports = knownTransports(info.credential.transports);
  const record: DeviceRecord = {
    id: info.credential.id,
    sub,
    kind: deviceKind(response.authenticatorAttachment, transports),
    public_key: isoBase64URL.fromBuffer(info.credential.publicKey),
    counter: info.credential.counter,
    transports,
    aaguid,
    attestation_format: info.fmt,
    registered_at: Math.floor((deps.now ?? Date.now)() / 1000),
    approval: settings.operatorApproval ? 'pending' : 'approved',
  };
  // Insert-if-absent in one step: two concurrent enrollments of one credential cannot both win.
  if (!(await deps.registry.create(record))) refuse('credential already enrolled');
  return record;
}

const TRANSPORTS: readonly AuthenticatorTransport[] = ['ble', 'hybrid', 'internal', 'nfc', 'usb'];

/** The transports the browser reported, minus anything unknown (they are hints, not proof). */
function knownTransports(reported: readonly string[] | undefined): AuthenticatorTransport[] {
  return TRANSPORTS.filter((t) => reported?.includes(t) === true);
}

/** `platform` when the browser says so, or the only transport is `internal`. */
function deviceKind(
  attachment: string | undefined,
  transports: readonly AuthenticatorTransport[] | undefined,
): DeviceKind {
  if (attachment === 'platform') return 'platform';
  if (attachment === 'cross-platform') return 'cross-platform';
  return transports?.length === 1 && transports[0] === 'internal' ? 'platform' : 'cross-platform';
}
