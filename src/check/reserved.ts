import { GatehouseError } from '../errors/gatehouse-error.js';
import { sessionOf, type Caller } from '../identity/caller.js';
import { bearerChallenge } from '../identity/bearer/challenge.js';
import { PATHS, errorPage, notFoundPage, signedOutPage, whoamiPage } from '../pages/pages.js';
import {
  isBrowserNavigation,
  jsonReply,
  jwksReply,
  type LocalReply,
  wantsJson,
} from '../pages/reply.js';
import type { IdentityRuntime } from '../identity/runtime.js';
import type { RequestView } from '../input/request-view.js';

/** Paths Gatehouse answers itself, through the Check response; never forwarded upstream. */
export function isReservedPath(pathname: string): boolean {
  return (
    pathname === '/.gatehouse' || pathname.startsWith('/.gatehouse/') || pathname === PATHS.jwks
  );
}

/**
 * Answer a reserved path. Errors become Gatehouse's error page (HTML, or JSON when asked);
 * the policy is not consulted: these paths are the sign-in machinery itself. `now` is the
 * Check path's clock (ms since the epoch).
 */
export async function handleReserved(
  view: RequestView,
  caller: Caller,
  runtime: IdentityRuntime,
  now: () => number = Date.now,
): Promise<LocalReply> {
  try {
    return await route(view, caller, runtime, now);
  } catch (err) {
    return errorPage({
      headers: view.headers,
      error: GatehouseError.from(err),
      requestId: view.requestId,
    });
  }
}

async function route(
  view: RequestView,
  caller: Caller,
  runtime: IdentityRuntime,
  now: () => number,
): Promise<LocalReply> {
  const { pathname } = view;
  if (pathname === PATHS.jwks) {
    if (runtime.jwks === undefined) return notFound(view);
    return jwksReply(runtime.jwks);
  }
  if (pathname === '/.gatehouse' || pathname === PATHS.whoami) {
    const { identity } = caller;
    if (identity.authenticated) {
      // The user's devices, when device.webauthn is on (a session caller only).
      const devices =
        runtime.whoamiDevices === undefined || wantsJson(view.headers)
          ? undefined
          : await runtime.whoamiDevices(caller);
      return whoamiPage(view.headers, identity, Math.floor(now() / 1000), devices);
    }
    if (runtime.signIn !== undefined && isBrowserNavigation(view.method, view.headers))
      return runtime.signIn.start(view, PATHS.whoami);
    return jsonReply(401, { authenticated: false }, [
      ['www-authenticate', bearerChallenge(view.host)],
    ]);
  }
  if (pathname === PATHS.signedOut) return signedOutPage(view.headers);
  if (pathname === PATHS.devices || pathname.startsWith(`${PATHS.devices}/`)) {
    const reply = runtime.devices === undefined ? undefined : await runtime.devices(view, caller);
    return reply ?? notFound(view);
  }
  if (pathname === PATHS.backchannelLogout)
    return runtime.backchannelLogout === undefined
      ? notFound(view)
      : runtime.backchannelLogout(view);
  const flow = runtime.signIn;
  if (flow === undefined) return notFound(view);
  switch (pathname) {
    case PATHS.signIn:
      return flow.signIn(view);
    case PATHS.callback:
      return flow.callback(view);
    case PATHS.signOut:
      return flow.signOut(view, sessionOf(caller));
    default:
      return notFound(view);
  }
}

function notFound(view: RequestView): LocalReply {
  return notFoundPage(view.headers, view.requestId);
}
