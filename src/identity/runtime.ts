import type { IdentityHeaderNames } from './assertion/headers.js';
import type { Caller } from './caller.js';
import type { StepUp } from '../decision/step-up.js';
import type { AuthenticatedIdentity } from '../input/types.js';
import type { LocalReply } from '../pages/reply.js';
import type { PageSection } from '../pages/pages.js';
import type { EnrolledDeviceInput } from '../input/device.js';
import type { VerifiedSession } from './session/types.js';
import type { RequestView } from '../input/request-view.js';

/** A sign-in that must satisfy a decision's step-up. */
export interface StepUpRequest {
  readonly stepUp: StepUp;
  /** The signed-in user stepping up: the new sign-in must be for the same `sub`. */
  readonly sub: string | undefined;
}

/** Sign-in through the identity provider: present when `identity` is configured. */
export interface SignInFlow {
  /**
   * The 302 to the identity provider's sign-in page, with the transaction cookie. With
   * `stepUp`, the IdP is asked for `max_age`/`acr_values` and the callback checks them.
   */
  start(request: RequestView, returnTo: string, stepUp?: StepUpRequest): Promise<LocalReply>;
  /** `/.gatehouse/sign_in`: start explicitly (or, on the central host, for another host). */
  signIn(request: RequestView): Promise<LocalReply>;
  /** `/.gatehouse/callback`: finish sign-in, set the session, redirect to where the user was going. */
  callback(request: RequestView): Promise<LocalReply>;
  /** `/.gatehouse/sign_out`: clear the session and log out at the IdP where it supports it. */
  signOut(request: RequestView, session: VerifiedSession | undefined): Promise<LocalReply>;
  /**
   * Renew an expired session with its refresh token: the renewed identity, and a `set-cookie`
   * value when the cookie changes (a server-side session keeps its handle: none); undefined when
   * refresh failed.
   */
  refresh(
    session: VerifiedSession,
  ): Promise<{ identity: AuthenticatedIdentity; cookie: string | undefined } | undefined>;
}

/** Everything the Check path needs to know who is asking and tell the upstream. */
export interface IdentityRuntime {
  /**
   * False when no identity provider is configured: denies then stay exactly the OPA-Envoy
   * plugin's (403 by default), since nobody could sign in anyway.
   */
  readonly enabled: boolean;
  readonly cookieName: string;
  /** Gatehouse's cookies, all removed from the `cookie` header sent upstream. */
  readonly ownCookies: readonly string[];
  readonly headerNames: IdentityHeaderNames;
  /**
   * Who is asking; never throws. `host` is the request's `:authority` (sessions are bound to it);
   * `deviceFingerprint` the SHA-256 (hex) of the client certificate accepted into `input.device`,
   * if any (a session bound to a certificate is refused without that one).
   */
  resolve(
    headers: Readonly<Record<string, string>>,
    host?: string,
    deviceFingerprint?: string,
  ): Promise<Caller>;
  /**
   * The signed assertion for the upstream `host`; undefined when no keys are configured.
   * `credential` (the caller's `credential`, when the identity is exactly what that
   * credential gave) lets the runtime reuse an assertion it signed for the same credential and
   * host while it has more than half its lifetime left.
   */
  assertion(
    identity: AuthenticatedIdentity,
    host: string,
    credential?: string,
  ): Promise<string | undefined>;
  /** The public keys, for `/.well-known/gatehouse/jwks.json`. */
  readonly jwks: { readonly keys: readonly object[] } | undefined;
  readonly signIn: SignInFlow | undefined;
  /** `/.gatehouse/backchannel_logout` (OIDC Back-Channel Logout 1.0); absent when identity is off. */
  readonly backchannelLogout?: (request: RequestView) => Promise<LocalReply>;
  /**
   * `/.gatehouse/devices…` (enrolled devices, src/device/webauthn/mount.ts): the page or
   * endpoint's answer, undefined for another path; absent without `device.webauthn`.
   */
  readonly devices?: (request: RequestView, caller: Caller) => Promise<LocalReply | undefined>;
  /**
   * The who-am-I page's device section for a session caller (its devices, each with a Remove
   * button posting to the devices endpoint); undefined for any other caller; absent without
   * `device.webauthn`.
   *
   * @throws GatehouseError `ERR_SESSION_STORE_UNAVAILABLE` (the page is then an error page).
   */
  readonly whoamiDevices?: (caller: Caller) => Promise<PageSection | undefined>;
  /**
   * `device.webauthn.proof_interval_seconds`: how old a session's proof of possession may be for
   * a decision that requires a device; absent without `device.webauthn` (such a decision is then
   * never met).
   */
  readonly deviceProofIntervalSeconds?: number;
  /**
   * `input.device.enrolled` for a session: the device it proved and that proof, or null when it
   * proved none. Absent without `device.webauthn`.
   *
   * @throws GatehouseError `ERR_SESSION_STORE_UNAVAILABLE`, `ERR_SESSION_RECORD_INVALID`.
   */
  readonly enrolledDevice?: (
    session: VerifiedSession | undefined,
    nowSeconds: number,
  ) => Promise<EnrolledDeviceInput | null>;
  /** `set-cookie` that clears the session cookie. */
  clearCookie(): string;
}
