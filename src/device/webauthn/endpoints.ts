import { GatehouseError } from '../../errors/gatehouse-error.js';
import { isSameOriginRequest } from '../../oidc/sign-out.js';
import { jsonReply, type LocalReply } from '../../pages/reply.js';
import { authenticationOptions, type DeviceProof, verifyAuthentication } from './authentication.js';
import { devicesPage } from './pages.js';
import { DEVICE_PATHS } from './paths.js';
import { type CeremonyDeps, registrationOptions, verifyRegistration } from './registration.js';

/** A request to a device path from a signed-in user (the caller has resolved the session). */
export interface DeviceRequest {
  readonly method: string;
  readonly pathname: string;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /**
   * `:authority`, when known: a POST must then come from this host's own pages (the same check
   * as sign-out's: `Sec-Fetch-Site`, else `Origin`, else `Referer`; none of them → refused).
   */
  readonly host?: string;
  readonly user: { readonly sub: string; readonly name: string };
  /** The device this session proved possession of (its record's `device_id`), if any. */
  readonly provedDevice?: string | undefined;
  readonly requestId?: string;
}

/** What the endpoints need: the ceremonies' deps, and what to do with a proof. */
export interface DeviceEndpointDeps extends CeremonyDeps {
  /** Called after a successful assertion: the wiring binds the session to the device here. */
  readonly onProof?: (
    proof: DeviceProof,
    request: DeviceRequest,
  ) => Promise<readonly (readonly [string, string])[]>;
  /**
   * Revoke one of the user's devices. Default: the registry's `revoke`; the wiring also ends
   * the sessions bound to it (src/device/webauthn/revoke.ts).
   */
  readonly revokeDevice?: (id: string) => Promise<void>;
}

/** Largest JSON body accepted: a registration response with attestation certificates fits. */
export const MAX_BODY_BYTES = 64 * 1024;

/**
 * Answer a device path, or `undefined` when `pathname` is not one. GET the page; POST JSON to
 * the ceremony endpoints. A POST must be `application/json` and, when the browser says where it
 * comes from (`Sec-Fetch-Site`), same-origin: no cross-site form or script can drive a ceremony.
 * Every failure is a JSON error with its code; nothing is enrolled or proven on any error.
 *
 * @example const reply = await handleDeviceRequest(request, deps);
 */
export async function handleDeviceRequest(
  request: DeviceRequest,
  deps: DeviceEndpointDeps,
): Promise<LocalReply | undefined> {
  const { pathname, method } = request;
  const isPost = (
    [
      DEVICE_PATHS.registerOptions,
      DEVICE_PATHS.register,
      DEVICE_PATHS.verifyOptions,
      DEVICE_PATHS.verify,
      DEVICE_PATHS.remove,
    ] as readonly string[]
  ).includes(pathname);
  if (pathname !== DEVICE_PATHS.devices && !isPost) return undefined;
  try {
    if (pathname === DEVICE_PATHS.devices) {
      if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed('GET');
      const devices = await deps.registry.listByUser(request.user.sub);
      return devicesPage({ name: request.user.name, devices, provedId: request.provedDevice });
    }
    if (method !== 'POST') return methodNotAllowed('POST');
    const body = readJson(request);
    const { sub } = request.user;
    switch (pathname) {
      case DEVICE_PATHS.registerOptions:
        return jsonReply(200, await registrationOptions(deps, request.user));
      case DEVICE_PATHS.register: {
        const device = await verifyRegistration(deps, sub, body);
        return jsonReply(200, {
          device: { id: device.id, kind: device.kind, approval: device.approval },
        });
      }
      case DEVICE_PATHS.remove:
        await removeOwnDevice(deps, sub, body);
        return jsonReply(200, { removed: true });
      case DEVICE_PATHS.verifyOptions:
        return jsonReply(200, await authenticationOptions(deps, sub, wantsUserVerification(body)));
      default: {
        const proof = await verifyAuthentication(deps, sub, body);
        const headers = deps.onProof === undefined ? [] : await deps.onProof(proof, request);
        return jsonReply(
          200,
          {
            verified: true,
            device: { id: proof.device.id, kind: proof.device.kind },
            user_verified: proof.userVerified,
          },
          headers,
        );
      }
    }
  } catch (err) {
    const error = GatehouseError.from(err);
    return jsonReply(error.spec.http, {
      error: error.code,
      message: error.message,
      reasons: [],
      request_id: request.requestId ?? '',
    });
  }
}

/**
 * Revoke one of `sub`'s own devices (`{"id": …}`); another user's, or an unknown id, is
 * `ERR_DEVICE_UNKNOWN` (the same answer: no probing for other users' credential ids).
 * Ending the sessions bound to it is the wiring's part (the store's change feed).
 */
async function removeOwnDevice(
  deps: DeviceEndpointDeps,
  sub: string,
  body: unknown,
): Promise<void> {
  const id =
    typeof body === 'object' && body !== null && 'id' in body && typeof body.id === 'string'
      ? body.id
      : undefined;
  const device = id === undefined ? undefined : await deps.registry.get(id);
  if (device === undefined || device.sub !== sub || device.approval === 'revoked')
    throw new GatehouseError('ERR_DEVICE_UNKNOWN', { cause: new Error('not an own live device') });
  if (deps.revokeDevice === undefined) await deps.registry.revoke(device.id);
  else await deps.revokeDevice(device.id);
}

/**
 * `{"user_verification": "required"}` in a verify-options POST: the page was sent by a decision
 * with `require_user_verification` (`?uv=required`). Asking is safe to leave to the client: a
 * proof without UV never meets such a decision, and a challenge issued requiring UV is never
 * answered without it.
 */
function wantsUserVerification(body: unknown): boolean {
  return (
    typeof body === 'object' &&
    body !== null &&
    'user_verification' in body &&
    body.user_verification === 'required'
  );
}

function methodNotAllowed(allow: string): LocalReply {
  return jsonReply(
    405,
    { error: 'method_not_allowed', message: 'Method not allowed.', reasons: [], request_id: '' },
    [['allow', allow]],
  );
}

/**
 * The JSON body of a ceremony POST.
 *
 * @throws GatehouseError `ERR_REQUEST_INVALID` for a cross-site or non-JSON POST;
 *   `ERR_BODY_INVALID` for bad or oversized JSON.
 */
function readJson(request: DeviceRequest): unknown {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin')
    throw new GatehouseError('ERR_REQUEST_INVALID', { cause: new Error(`sec-fetch-site ${site}`) });
  if (request.host !== undefined && !isSameOriginRequest(request.headers, request.host))
    throw new GatehouseError('ERR_REQUEST_INVALID', {
      cause: new Error('not from this host (Sec-Fetch-Site, Origin, Referer)'),
    });
  // Envoy marks a body it cut at with_request_body.max_request_bytes: never parse half of one.
  if (request.headers['x-envoy-auth-partial-body'] === 'true')
    throw new GatehouseError('ERR_BODY_INVALID', { cause: new Error('truncated body') });
  const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json')
    throw new GatehouseError('ERR_REQUEST_INVALID', { cause: new Error('not application/json') });
  if (Buffer.byteLength(request.body, 'utf8') > MAX_BODY_BYTES)
    throw new GatehouseError('ERR_BODY_INVALID', { cause: new Error('body too large') });
  try {
    return JSON.parse(request.body) as unknown;
  } catch (cause) {
    throw new GatehouseError('ERR_BODY_INVALID', { cause });
  }
}
