import {
  generateAuthenticationOptions,
  type PublicKeyCredentialRequestOptionsJSON,
  verifyAuthenticationResponse,
} from '@simplewebauthn/server';
import { isoBase64URL } from '@simplewebauthn/server/helpers';
import { GatehouseError } from '../../errors/gatehouse-error.js';
import { claimChallenge, rememberChallenge } from './challenge.js';
import type { CeremonyDeps } from './registration.js';
import { asAuthenticationResponse } from './response-shape.js';
import type { DeviceRecord, DeviceRegistry } from './types.js';

/** A successful proof of possession. */
export interface DeviceProof {
  /** The device record after the assertion (new counter, `last_used`). */
  readonly device: DeviceRecord;
  readonly userVerified: boolean;
  /** Unix seconds. */
  readonly at: number;
}

/**
 * Options for `navigator.credentials.get()` (JSON form) for user `sub`, allowing only their
 * approved devices; the challenge is remembered single-use. User verification is `required`
 * when `device.webauthn.require_user_verification` says so or `userVerification` asks for it (a
 * decision with `require_user_verification` sent the user here), else `preferred`; a required
 * one is remembered with the challenge, and {@link verifyAuthentication} then refuses an answer
 * without it.
 *
 * @throws GatehouseError `ERR_DEVICE_UNKNOWN` when the user has no approved device.
 * @example await authenticationOptions(deps, sub, true) // for a require_user_verification decision
 */
export async function authenticationOptions(
  deps: CeremonyDeps,
  sub: string,
  userVerification = false,
): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const { settings } = deps;
  const required = settings.requireUserVerification || userVerification;
  const devices = (await deps.registry.listByUser(sub)).filter((d) => d.approval === 'approved');
  if (devices.length === 0)
    throw new GatehouseError('ERR_DEVICE_UNKNOWN', { cause: new Error('no approved device') });
  const options = await generateAuthenticationOptions({
    rpID: settings.rpId,
    timeout: settings.challengeTtlSeconds * 1000,
    allowCredentials: devices.map((d) => ({ id: d.id, transports: [...d.transports] })),
    userVerification: required ? 'required' : 'preferred',
  });
  await rememberChallenge(
    deps.challenges,
    options.challenge,
    'authenticate',
    sub,
    settings.challengeTtlSeconds,
    required,
  );
  return options;
}

/**
 * Verify an assertion from one of `sub`'s approved devices. In order: the challenge is consumed
 * (single use), the device must be `sub`'s and approved, the signature, origin, RP ID and user
 * presence verified, then user verification (when the settings or the challenge's options
 * required it) and the counter: it must rise
 * whenever either the stored or the new value is non-zero (a clone shows up as a regression).
 * The counter is compared and the new counter and `last_used` saved in one atomic step of the
 * registry ({@link DeviceRegistry.recordAssertion}).
 *
 * @throws GatehouseError `ERR_DEVICE_CHALLENGE_INVALID`, `ERR_DEVICE_UNKNOWN`,
 *   `ERR_DEVICE_PROOF_INVALID`, `ERR_DEVICE_NOT_ALLOWED`, `ERR_DEVICE_COUNTER_REGRESSION`.
 */
export async function verifyAuthentication(
  deps: CeremonyDeps,
  sub: string,
  body: unknown,
): Promise<DeviceProof> {
  const { settings } = deps;
  const response = asAuthenticationResponse(body);
  const { challenge, userVerification } = await claimChallenge(
    deps.challenges,
    response.response.clientDataJSON,
    'authenticate',
    sub,
  );
  const device = await deps.registry.get(response.id);
  if (device === undefined || device.sub !== sub || device.approval !== 'approved')
    throw new GatehouseError('ERR_DEVICE_UNKNOWN', {
      cause: new Error('credential not enrolled for this user, pending or revoked'),
    });
  let verified: Awaited<ReturnType<typeof verifyAuthenticationResponse>>;
  try {
    verified = await verifyAuthenticationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: [...settings.origins],
      expectedRPID: settings.rpId,
      credential: {
        id: device.id,
        publicKey: isoBase64URL.toBuffer(device.public_key),
        // The counter is compared below, after the signature: a regression is only reported
        // for an assertion the device really signed.
        counter: 0,
        transports: [...device.transports],
      },
      requireUserVerification: false,
    });
  } catch (cause) {
    throw new GatehouseError('ERR_DEVICE_PROOF_INVALID', { cause });
  }
  if (!verified.verified)
    throw new GatehouseError('ERR_DEVICE_PROOF_INVALID', { cause: new Error('not verified') });
  const info = verified.authenticationInfo;
  if ((settings.requireUserVerification || userVerification) && !info.userVerified)
    throw new GatehouseError('ERR_DEVICE_NOT_ALLOWED', {
      cause: new Error('user verification required but not performed'),
    });
  const at = Math.floor((deps.now ?? Date.now)() / 1000);
  // Compared and saved in one atomic step of the registry: two concurrent assertions (a clone)
  // read the same stored counter, and only the first to write may pass. The device is checked
  // again there too: it may have been revoked while the signature was being checked.
  const outcome = await deps.registry.recordAssertion(device.id, sub, info.newCounter, at);
  if (!outcome.ok && outcome.reason === 'counter')
    throw new GatehouseError('ERR_DEVICE_COUNTER_REGRESSION', {
      cause: new Error(`counter ${info.newCounter} does not rise`),
    });
  if (!outcome.ok)
    throw new GatehouseError('ERR_DEVICE_UNKNOWN', { cause: new Error('revoked meanwhile') });
  const updated = outcome.device;
  return { device: updated, userVerified: info.userVerified, at };
}
