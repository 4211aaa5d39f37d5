import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { GatehouseError } from '../../errors/gatehouse-error.js';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function base(value: unknown): Record<string, unknown> {
  if (
    !isRecord(value) ||
    typeof value['id'] !== 'string' ||
    typeof value['rawId'] !== 'string' ||
    value['type'] !== 'public-key' ||
    !isRecord(value['response']) ||
    typeof value['response']['clientDataJSON'] !== 'string'
  )
    throw new GatehouseError('ERR_DEVICE_PROOF_INVALID', {
      cause: new TypeError('not a PublicKeyCredential in JSON form'),
    });
  return value['response'];
}

/**
 * The body a browser posts after `navigator.credentials.create()` (`PublicKeyCredential.toJSON()`).
 * Only the shape is checked here; the library verifies the content.
 *
 * @throws GatehouseError `ERR_DEVICE_PROOF_INVALID` when it is not one.
 */
export function asRegistrationResponse(value: unknown): RegistrationResponseJSON {
  const response = base(value);
  if (typeof response['attestationObject'] !== 'string')
    throw new GatehouseError('ERR_DEVICE_PROOF_INVALID', {
      cause: new TypeError('no attestationObject'),
    });
  return value as RegistrationResponseJSON;
}

/**
 * The body a browser posts after `navigator.credentials.get()`.
 *
 * @throws GatehouseError `ERR_DEVICE_PROOF_INVALID` when it is not one.
 */
export function asAuthenticationResponse(value: unknown): AuthenticationResponseJSON {
  const response = base(value);
  if (
    typeof response['authenticatorData'] !== 'string' ||
    typeof response['signature'] !== 'string'
  )
    throw new GatehouseError('ERR_DEVICE_PROOF_INVALID', {
      cause: new TypeError('no authenticatorData or signature'),
    });
  return value as AuthenticationResponseJSON;
}
