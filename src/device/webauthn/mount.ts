/**
 * The enrolled-device pages and endpoints (`/.gatehouse/devices…`, src/device/webauthn/paths.ts)
 * as a reserved path: for a signed-in browser session, with the registry and the challenges in
 * the session store (every replica), a proof binding the session record to the device, and a
 * removal ending the sessions bound to the device.
 */
import type { Caller } from '../../identity/caller.js';
import type { SignInFlow } from '../../identity/runtime.js';
import type { SessionBook } from '../../identity/session/book.js';
import { sessionSetCookie } from '../../identity/session/cookie.js';
import type { RequestView } from '../../input/request-view.js';
import { isBrowserNavigation, jsonReply, type LocalReply } from '../../pages/reply.js';
import type { SessionStore } from '../../store/types.js';
import { type DeviceEndpointDeps, handleDeviceRequest } from './endpoints.js';
import type { PageSection } from '../../pages/pages.js';
import { whoamiDeviceSection } from './pages.js';
import { DEVICE_PATHS } from './paths.js';
import { revokeDevice } from './revoke.js';
import { StoreChallengeStore, StoreDeviceRegistry } from './store-registry.js';
import type { WebAuthnSettings } from './types.js';

/** What the device route needs. */
export interface DeviceRouteOptions {
  readonly settings: WebAuthnSettings;
  readonly store: SessionStore;
  readonly sessions: SessionBook;
  /** The session cookie's name: a proof moves the session to a new id (a new cookie). */
  readonly cookieName: string;
  /** To send a browser that is not signed in to sign-in (and back to the devices page). */
  readonly signIn: SignInFlow | undefined;
  /** The clock, ms since the epoch. */
  readonly now?: () => number;
}

/** Answers a device path, or undefined for any other path. */
export type DeviceRoute = (view: RequestView, caller: Caller) => Promise<LocalReply | undefined>;

/** True for `/.gatehouse/devices` and the paths under it. */
export function isDevicePath(pathname: string): boolean {
  return pathname === DEVICE_PATHS.devices || pathname.startsWith(`${DEVICE_PATHS.devices}/`);
}

/**
 * The device route. Only a live browser session may enroll, prove or remove (a bearer token is
 * not a device's browser; an expired session signs in again first).
 *
 * @example const route = createDeviceRoute({ settings, store, sessions, signIn: flow });
 */
export function createDeviceRoute(options: DeviceRouteOptions): DeviceRoute {
  const registry = new StoreDeviceRegistry(options.store);
  const challenges = new StoreChallengeStore(options.store);
  const now = options.now ?? Date.now;
  return async (view, caller) => {
    if (!isDevicePath(view.pathname)) return undefined;
    if (caller.kind !== 'session') {
      if (options.signIn !== undefined && isBrowserNavigation(view.method, view.headers))
        return options.signIn.start(view, DEVICE_PATHS.devices);
      return jsonReply(401, { authenticated: false });
    }
    const session = caller.session;
    let body: string;
    try {
      body = new TextDecoder('utf-8', { fatal: true }).decode(view.body ?? new Uint8Array(0));
    } catch {
      // Not UTF-8: not JSON either, so a ceremony POST is refused as ERR_BODY_INVALID below.
      body = '\u0000';
    }
    return handleDeviceRequest(
      {
        method: view.method,
        pathname: view.pathname,
        headers: view.headers,
        body,
        host: view.host,
        user: { sub: session.sub, name: session.email ?? session.name ?? session.sub },
        provedDevice: session.device_id,
        requestId: view.requestId,
      },
      deps(),
    );

    function deps(): DeviceEndpointDeps {
      return {
        settings: options.settings,
        registry,
        challenges,
        now,
        onProof: async (proof) => {
          const moved = await options.sessions.bindDevice(session.sid, {
            id: proof.device.id,
            at: proof.at,
            userVerified: proof.userVerified,
          });
          return [
            [
              'set-cookie',
              sessionSetCookie(options.cookieName, moved.cookieValue, moved.maxAgeSeconds),
            ],
          ];
        },
        revokeDevice: async (id) => {
          // Through the session book, so this replica's cache drops the bound sessions at once
          // (the others hear it on the change feed).
          await revokeDevice(
            { list: (o) => options.store.list(o), revoke: (sid) => options.sessions.revoke(sid) },
            registry,
            id,
          );
        },
      };
    }
  };
}

/**
 * The who-am-I page's device section (`IdentityRuntime.whoamiDevices`): a session caller's
 * devices from the registry in the session store, marking the one this session proved. Its
 * Remove buttons post to `/.gatehouse/devices/remove`, answered by {@link createDeviceRoute}:
 * the one removal path. Undefined for a caller that is not a live session.
 *
 * @example const section = await createWhoamiDevices(store)(caller);
 */
export function createWhoamiDevices(
  store: SessionStore,
): (caller: Caller) => Promise<PageSection | undefined> {
  const registry = new StoreDeviceRegistry(store);
  return async (caller) => {
    if (caller.kind !== 'session') return undefined;
    const devices = await registry.listByUser(caller.session.sub);
    return whoamiDeviceSection({ devices, provedId: caller.session.device_id });
  };
}
