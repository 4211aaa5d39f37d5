import { constants } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { JSONWebKeySet } from 'jose';
import type { Config } from '../config/types.js';
import { AssertionCache, assertionKey } from '../identity/assertion/cache.js';
import { signAssertion } from '../identity/assertion/sign.js';
import { createIdpKeySource } from '../identity/bearer/key-source.js';
import { createBearerVerifier, type BearerVerifier } from '../identity/bearer/verify.js';
import { anonymousRuntime } from '../identity/anonymous.js';
import type { IdentityRuntime, SignInFlow } from '../identity/runtime.js';
import { createSignInFlow } from '../oidc/flow.js';
import { isAllowedHost } from '../oidc/return-url.js';
import { GatehouseError } from '../errors/gatehouse-error.js';
import { callerOf } from '../identity/caller.js';
import { resolveIdentity } from '../identity/resolve.js';
import { configuredIdentity, loadConfiguredSigningKeys } from '../identity/configured.js';
import { credentialKey, VerifiedCache } from '../identity/verified-cache.js';
import { deriveKey, loadSessionSecret } from '../keys/session-secret.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { NOOP_TRACER, type Tracer } from '../tracing/tracer.js';
import { handleBackchannelLogout, type Revoke } from '../oidc/backchannel-endpoint.js';
import { createLogoutTokenVerifier, logoutClaimKey } from '../oidc/backchannel-logout.js';
import { createOidcClient, type OidcClient } from '../oidc/client.js';
import { storeReplayCache } from '../oidc/replay-cache.js';
import { revokeForLogout, revokeSessions } from '../store/revoke.js';
import { ownCookieNames, sessionClearCookie } from '../identity/session/cookie.js';
import { createSessionBook, type SessionBook } from '../identity/session/book.js';
import { createDeviceRoute, createWhoamiDevices } from '../device/webauthn/mount.js';
import { webauthnSettings } from '../device/webauthn/settings.js';
import { enrolledInput } from '../device/webauthn/enrolled-input.js';
import type { VerifiedSession } from '../identity/session/types.js';
import { StoreDeviceRegistry } from '../device/webauthn/store-registry.js';
import { SessionCache, type SessionCacheStatus } from '../store/cache.js';
import { openSessionStore, type OpenedSessionStore } from '../store/open.js';
import type { SessionStore } from '../store/types.js';
import type { SessionStoreConfig } from '../config/types.js';
import { createIdpEventLog, errorSummary } from '../observability/idp-events.js';
import {
  countSignInEvents,
  logSignInEvents,
  signInEvents,
  traceSignInEvents,
  type SignInSubscriber,
} from '../observability/sign-in-events.js';
import type { IdentityProviderStatus } from '../health/readiness.js';

/** The identity runtime and the OIDC client behind it (for readiness and shutdown). */
export interface IdentitySetup {
  readonly runtime: IdentityRuntime;
  readonly oidc: OidcClient | undefined;
  /**
   * The session store single-use values and revocations go through (`session.store`; the one
   * given in {@link IdentityObservability.store}, or opened here); `undefined` without identity.
   */
  readonly store: SessionStore | undefined;
  /** Server-side sessions (sign-in creates, Check reads, sign-out revokes); none without `identity`. */
  readonly sessions: SessionBook | undefined;
  /** What this replica's session cache serves, for readiness and metrics; none without `identity`. */
  sessionStore(): SessionCacheStatus | undefined;
  /** The identity provider for readiness; `undefined` when none is configured. */
  status(): IdentityProviderStatus | undefined;
  /** Stop discovery retries and key refreshes; disconnect the session store. */
  close(): Promise<void>;
}

/** Where the identity stage reports (metrics and spans); both optional. */
export interface IdentityObservability {
  readonly metrics?: Metrics | undefined;
  readonly tracer?: Tracer | undefined;
  /**
   * The session store to use instead of opening `session.store` (a cluster worker's IpcStore,
   * src/workers/worker.ts); closed with the setup.
   */
  readonly sessionStore?: SessionStore | undefined;
  /**
   * The sessions' clock (ms since the epoch): idle timeout, re-validation, session times. Only
   * the in-process start API passes one (tests); no configuration key reaches it.
   */
  readonly clock?: (() => number) | undefined;
}

/**
 * Build the identity runtime from configuration: keys, session secret, OIDC client (discovery
 * starts in the background), bearer verifier (its keys from src/identity/bearer/key-source.ts: the
 * cache file at start, then the JWKS named by discovery).
 *
 * @throws GatehouseError `ERR_KEYS_INVALID` naming `keys.signing` or `session.secret`, `ERR_CONFIG_INVALID`.
 */
export async function setupIdentity(
  config: Config,
  log: Logger,
  observe: IdentityObservability = {},
): Promise<IdentitySetup> {
  const { metrics } = observe;
  const tracer = observe.tracer ?? NOOP_TRACER;
  const names = config.headers;
  const cookieName = config.session.cookie_name;
  const identity = configuredIdentity(config);
  if (identity === undefined) {
    return {
      runtime: anonymousRuntime(names, cookieName),
      oidc: undefined,
      store: undefined,
      sessions: undefined,
      sessionStore: () => undefined,
      status: () => undefined,
      close: async () => {
        await observe.sessionStore?.close();
      },
    };
  }

  const ring = await loadConfiguredSigningKeys(config, log);
  if (ring.generated) {
    log.warn(
      'DEVELOPMENT MODE: signing key generated at start; sessions and assertions will not survive a restart. Never use this in production.',
    );
  }
  const secret = await loadSessionSecret({
    ...(config.session.secret === undefined ? {} : { value: config.session.secret }),
    development: config.development,
  }).catch((err: unknown) => {
    throw new GatehouseError('ERR_KEYS_INVALID', {
      message: `session.secret: ${(err as Error).message}`,
      cause: err,
    });
  });
  if (secret.generated)
    log.warn(
      'DEVELOPMENT MODE: session secret generated at start; sessions will not survive a restart.',
    );
  // The transaction cookie gets its own key, derived from the same secret for a different use.
  const txnKey = deriveKey(secret.key, 'gatehouse sign-in transaction');
  const handoffKey = deriveKey(secret.key, 'gatehouse sign-in hand-off');
  const tolerance = identity.clock_tolerance_seconds;
  // Server-side sessions (docs/reference/session-store.md): the store this replica shares, and
  // its local cache in front of it.
  const opened =
    observe.sessionStore === undefined
      ? await openSessionStore(config.session.store, secret.key)
      : withCache(observe.sessionStore, config.session.store);
  const idleSeconds = config.session.idle_timeout_seconds;
  const sessions = createSessionBook({
    ring,
    store: opened.store,
    cache: opened.cache,
    ttlSeconds: config.session.ttl_seconds,
    absoluteLifetimeSeconds: config.session.absolute_lifetime_seconds,
    idleTimeoutSeconds: idleSeconds,
    revalidateIntervalSeconds: config.session.revalidate_interval_seconds,
    // A replica that lost the refresh race waits no longer than a refresh of its own would take.
    refreshWaitMs: identity.timeout_ms,
    // A quarter of the idle timeout, at most a minute: the last use is never far behind.
    touchIntervalMs: Math.min(60_000, idleSeconds > 0 ? (idleSeconds * 1000) / 4 : 60_000),
    clockToleranceSeconds: tolerance,
    // Verified handles (the record is still looked up on every Check): as many as bearer tokens.
    handleCacheEntries: identity.verified_cache_entries,
    ...(observe.clock === undefined ? {} : { now: observe.clock }),
  });

  if (identity.cache_file !== undefined) await checkCacheFolder(identity.cache_file);
  const events = createIdpEventLog(log);
  // The IdP's keys for bearer tokens: last good keys kept through an outage (up to
  // keys_max_age_seconds) and, with cache_file, across a restart while the IdP is down.
  const keys = createIdpKeySource({
    configuredIssuer: identity.issuer,
    cacheFile: identity.cache_file,
    staticJwks:
      identity.static_jwks_file === undefined
        ? undefined
        : await readStaticJwks(identity.static_jwks_file),
    maxAgeMs: identity.keys_max_age_seconds * 1000,
    timeoutMs: identity.timeout_ms,
    backgroundTimeoutMs: identity.discovery_timeout_ms,
    onEvent: (event) => events.keys(event),
  });
  await keys.load();
  const oidc: OidcClient = createOidcClient({
    issuer: new URL(identity.issuer),
    clientId: identity.client_id,
    clientSecret: identity.client_secret ?? '',
    scopes: identity.scopes,
    allowInsecureIssuer: config.development,
    timeoutMs: identity.timeout_ms,
    discoveryTimeoutMs: identity.discovery_timeout_ms,
    onEvent: (event) => {
      events.discovery(event);
      const document = event.type === 'discovered' ? oidc.discoveryDocument() : undefined;
      if (document !== undefined) keys.discovered(document);
    },
  });
  oidc.warmUp();

  let bearer: { readonly issuer: string; readonly verify: BearerVerifier } | undefined;
  const verifyBearerOnce = async (token: string) => {
    // Rebuilt when the expected issuer changes: static keys use identity.issuer as configured
    // until a discovery document names it exactly.
    if (bearer === undefined || bearer.issuer !== keys.issuer()) {
      // The issuer tokens must carry: from the cached discovery document, or from discovery
      // (waiting at most identity.timeout_ms for an attempt in flight).
      if (keys.issuer() === undefined) {
        await oidc.metadata().catch((err: unknown) => {
          throw new GatehouseError('ERR_JWKS_UNAVAILABLE', { cause: err });
        });
      }
      const issuer = keys.issuer() ?? oidc.metadataIfReady()?.issuer;
      if (issuer === undefined) throw new GatehouseError('ERR_JWKS_UNAVAILABLE');
      bearer = {
        issuer,
        verify: createBearerVerifier({
          issuer,
          // Never the client id (the config refuses it): that is the ID token's audience.
          audience: identity.bearer.audiences,
          clientId: identity.client_id as string,
          allowUntyped: identity.bearer.allow_untyped,
          ownIssuer: names.assertion_issuer,
          ownKids: new Set(ring.verification.keys()),
          keys: keys.getKey,
          algorithms: identity.bearer.algorithms,
          clockToleranceSeconds: identity.clock_tolerance_seconds,
        }),
      };
    }
    return bearer.verify(token);
  };
  // Metrics and spans hook here, at the verifier's call site: the JWKS fetch itself happens
  // inside jose's remote key set (src/identity/bearer), which exposes no hook. A verification that
  // succeeds used the JWKS (cached or freshly fetched); one refused with ERR_JWKS_UNAVAILABLE
  // could not get it. Refusals for other reasons are not JWKS outcomes and are not counted.
  const verifyBearer = identity.bearer.enabled
    ? async (token: string) => {
        const span = tracer.current()?.child('gatehouse.bearer.verify');
        try {
          const claims = await verifyBearerOnce(token);
          metrics?.jwksFetches.inc({ result: 'success' });
          return claims;
        } catch (err) {
          const code = GatehouseError.from(err, 'ERR_TOKEN_INVALID').code;
          if (code === 'ERR_JWKS_UNAVAILABLE') metrics?.jwksFetches.inc({ result: 'failure' });
          span?.fail(code);
          throw err;
        } finally {
          span?.end();
        }
      }
    : undefined;

  // Single-use values and revocations go through the same session store: with `redis`, every
  // replica shares them.
  const store = opened.store;
  const baseFlow = createSignInFlow({
    client: oidc,
    ring,
    sessions,
    txnKey,
    cookieName,
    groupsClaim: identity.groups_claim,
    postLogoutRedirectPath: identity.post_logout_redirect_path,
    ...(identity.sign_in_host === undefined ? {} : { centralHost: identity.sign_in_host }),
    allowedHosts: identity.allowed_hosts,
    handoffKey,
    bindSessionsToDevice: config.device?.certificate.bind_sessions ?? false,
    refreshMinIntervalMs: identity.refresh_min_interval_seconds * 1000,
    ...(config.session.revalidate_interval_seconds === 0
      ? {}
      : {
          revalidate: {
            intervalSeconds: config.session.revalidate_interval_seconds,
            graceSeconds: config.session.revalidate_grace_seconds,
          },
        }),
    // Logged like every revocation (who and why), and dropped from this replica's cache at once.
    revokeSession: async (sid, audit) => {
      await revokeSessions(store, { sid }, audit, log);
      opened.cache.forget(sid);
    },
    ...(observe.clock === undefined ? {} : { now: observe.clock }),
    replay: {
      signIn: storeReplayCache(store, 'sign-in-state'),
      handoff: storeReplayCache(store, 'handoff-jti'),
    },
    onEvent: signInEvents([
      logSignInEvents(log),
      ...(metrics === undefined ? [] : [countSignInEvents(metrics)]),
      ...(tracer.enabled ? [traceSignInEvents(tracer)] : []),
    ] satisfies SignInSubscriber[]),
  });
  const flow = traceFlow(baseFlow, tracer);

  // Verified credentials and signed assertions are reused (see src/identity/verified-cache.ts and
  // src/identity/assertion/cache.ts): one signature verification per token, one signing per
  // (asserted identity, upstream host) per half assertion lifetime.
  // Sessions are not cached by cookie: every Check asks the store's cache (src/store/cache.ts),
  // which the change feed invalidates, so a revocation is never hidden behind a cached cookie.
  // Only the handle's signature verification is cached (src/identity/session/handle-cache.ts).
  const capacity = identity.verified_cache_entries;
  const cache = {
    bearer: new VerifiedCache<string>({ clockToleranceSeconds: tolerance, capacity }),
  };
  const assertions = new AssertionCache({
    ttlSeconds: names.assertion_ttl_seconds,
    capacity: names.assertion_cache_entries,
  });
  const sign = (who: Parameters<IdentityRuntime['assertion']>[0], host: string, now?: Date) =>
    signAssertion(ring, {
      issuer: names.assertion_issuer,
      audience: host,
      identity: who,
      ttlSeconds: names.assertion_ttl_seconds,
      ...(now === undefined ? {} : { now }),
    });

  // Back-channel logout (src/oidc/backchannel-*.ts): the sessions the IdP ends are revoked in the
  // store, which every replica's session cache follows (src/store/revoke.ts).
  const revokeLogout: Revoke = async (target, reason) => {
    await revokeForLogout(store, target, { by: 'identity provider', reason }, log);
  };
  const verifyLogoutToken = createLogoutTokenVerifier({
    issuer: () => keys.issuer() ?? oidc.metadataIfReady()?.issuer,
    clientId: identity.client_id,
    keys: keys.getKey,
    claimOnce: (key, ttlSeconds) => store.claimOnce('backchannel-jti', key, ttlSeconds * 1000),
    algorithms: identity.bearer.algorithms,
    clockToleranceSeconds: tolerance,
    maxAgeSeconds: identity.backchannel_logout.max_age_seconds,
    requireTyp: identity.backchannel_logout.require_typ,
    ownIssuer: names.assertion_issuer,
    ownKids: new Set(ring.verification.keys()),
  });
  const backchannelLogout: NonNullable<IdentityRuntime['backchannelLogout']> = async (view) => {
    // The issuer comes from discovery: wait for an attempt in flight (at most timeout_ms).
    if (keys.issuer() === undefined) await oidc.metadata().catch(() => undefined);
    return handleBackchannelLogout(
      { method: view.method, headers: view.headers, body: view.body ?? new Uint8Array(0) },
      {
        verify: (token) => verifyLogoutToken(token),
        revoke: revokeLogout,
        unclaim: (logout) =>
          store.releaseOnce('backchannel-jti', logoutClaimKey(logout.iss, logout.jti)),
        onEvent: (event) => {
          if (event.type === 'refused')
            log.warn(
              { code: event.code, error: errorSummary(event.error.cause ?? event.error) },
              'back-channel logout refused',
            );
        },
      },
    );
  };

  // The assertion cache key of a session record version, hashed once per record object.
  const sessionCredentials = new WeakMap<VerifiedSession, string>();
  const sessionCredential = (session: VerifiedSession): string => {
    let key = sessionCredentials.get(session);
    if (key === undefined) {
      key = credentialKey(`${session.sid}.${session.iat}`);
      sessionCredentials.set(session, key);
    }
    return key;
  };

  const runtime: IdentityRuntime = {
    enabled: true,
    cookieName,
    ownCookies: ownCookieNames(cookieName),
    headerNames: names,
    resolve: async (headers, host, deviceFingerprint) => {
      const resolved = await resolveIdentity({
        headers,
        cookieName,
        ...(config.session.bind_to_host && host !== undefined ? { host } : {}),
        ...(deviceFingerprint === undefined ? {} : { deviceFingerprint }),
        verifySession: (token) => sessions.verify(token),
        ...(verifyBearer === undefined ? {} : { verifyBearer }),
        groupsClaim: identity.groups_claim,
        cache,
      });
      const session = resolved.session?.data;
      // A use, for the idle timeout, only once the session is accepted here (a session shown on
      // another host or off its device came back without `session`).
      if (session !== undefined) sessions.used(session);
      // Assertions are reused per version of the record (sid, iat): a refreshed record, whose
      // identity may differ, under the same cookie gets a new one.
      if (session !== undefined && resolved.error === undefined && !resolved.session?.expired)
        return callerOf({ ...resolved, credential: sessionCredential(session) });
      return callerOf(resolved);
    },
    // An upstream that does not read the assertion (headers.assertion_skip_hosts) costs no signing.
    assertion: (who, host, credential) =>
      isAllowedHost(host, names.assertion_skip_hosts)
        ? Promise.resolve(undefined)
        : credential === undefined
          ? sign(who, host)
          : assertions.get(assertionKey(who), host, (now) => sign(who, host, now)),
    jwks: ring.jwks,
    signIn: flow,
    backchannelLogout,
    // Enrolled devices (docs/devices.md): registry and challenges in this same store.
    ...(config.device?.webauthn === undefined
      ? {}
      : {
          devices: createDeviceRoute({
            settings: webauthnSettings(config.device.webauthn),
            store,
            sessions,
            cookieName,
            signIn: flow,
            ...(observe.clock === undefined ? {} : { now: observe.clock }),
          }),
          whoamiDevices: createWhoamiDevices(store),
          deviceProofIntervalSeconds: config.device.webauthn.proof_interval_seconds,
          enrolledDevice: (() => {
            const registry = new StoreDeviceRegistry(store);
            const interval = config.device.webauthn.proof_interval_seconds;
            return (session: VerifiedSession | undefined, nowSeconds: number) =>
              enrolledInput(registry, session, interval, nowSeconds);
          })(),
        }),
    clearCookie: () => sessionClearCookie(cookieName),
  };
  const status = (): IdentityProviderStatus => {
    const discovered = oidc.state === 'ready';
    const keyState = keys.state;
    const error = oidc.lastError === undefined ? undefined : errorSummary(oidc.lastError);
    return {
      state: discovered
        ? 'ready'
        : keyState === 'cache' || keyState === 'idp' || keyState === 'static'
          ? 'cached'
          : 'pending',
      error,
      keysFetchedAt: keys.fetchedAt,
    };
  };
  return {
    runtime,
    oidc,
    store: opened.store,
    sessions,
    sessionStore: () => opened.cache.status(),
    status,
    close: async () => {
      oidc.close();
      keys.close();
      await opened.close().catch(() => undefined);
    },
  };
}

/**
 * Trace the token exchange (callback) and the refresh grant in spans of their own; what they
 * ended in arrives as sign-in events (src/observability/sign-in-events.ts).
 */
function traceFlow(flow: SignInFlow, tracer: Tracer): SignInFlow {
  const traced = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const span = tracer.current()?.child(name);
    try {
      return await fn();
    } catch (err) {
      span?.fail(GatehouseError.from(err).code);
      throw err;
    } finally {
      span?.end();
    }
  };
  return {
    start: (request, returnTo, stepUp) => flow.start(request, returnTo, stepUp),
    signIn: (request) => flow.signIn(request),
    callback: (request) => traced('gatehouse.oidc.callback', () => flow.callback(request)),
    signOut: (request, session) => flow.signOut(request, session),
    refresh: (session) => traced('gatehouse.oidc.refresh', () => flow.refresh(session)),
  };
}

/**
 * `identity.static_jwks_file`: a JWK Set of public keys only.
 *
 * @throws GatehouseError `ERR_CONFIG_INVALID` naming the key when the file cannot be read or is
 *   not a JWK Set of public keys.
 */
async function readStaticJwks(file: string): Promise<JSONWebKeySet> {
  const problem = (why: string, cause?: unknown) =>
    new GatehouseError('ERR_CONFIG_INVALID', {
      message: `identity.static_jwks_file: ${file}: ${why}`,
      cause,
    });
  let doc: unknown;
  try {
    doc = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw problem(
      err instanceof SyntaxError
        ? 'not JSON'
        : `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      err,
    );
  }
  const keys =
    typeof doc === 'object' && doc !== null ? (doc as { keys?: unknown }).keys : undefined;
  if (!Array.isArray(keys) || keys.length === 0)
    throw problem('expected a JWK Set: {"keys": [ … ]} with at least one key');
  for (const key of keys) {
    if (
      typeof key !== 'object' ||
      key === null ||
      typeof (key as { kty?: unknown }).kty !== 'string'
    )
      throw problem('every key needs a "kty"');
    // A private or symmetric key here would be a mistake with a secret in a config file.
    if ('d' in key || 'k' in key) throw problem('only public keys belong here (found "d" or "k")');
  }
  return doc as JSONWebKeySet;
}

/**
 * `identity.cache_file`: its folder must exist and be writable now, not fail quietly at the
 * first write ten minutes later.
 *
 * @throws GatehouseError `ERR_CONFIG_INVALID` naming the key.
 */
async function checkCacheFolder(file: string): Promise<void> {
  const folder = dirname(file);
  try {
    await access(folder, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw new GatehouseError('ERR_CONFIG_INVALID', {
      message: `identity.cache_file: the folder ${folder} must exist and be writable by this user (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
      cause: err,
    });
  }
}

/** A cache in front of a store opened elsewhere (a cluster worker's IpcStore). */
function withCache(store: SessionStore, config: SessionStoreConfig): OpenedSessionStore {
  const cache = new SessionCache(store, {
    maxEntries: config.cache_size,
    staleWindowMs: config.stale_window_ms,
    maxAgeMs: config.cache_max_age_ms,
  });
  return {
    store,
    cache,
    close: async () => {
      cache.close();
      await store.close();
    },
  };
}
