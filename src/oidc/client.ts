/**
 * The OIDC relying party: discovery of the identity provider through `openid-client`, retried
 * on its own schedule, so Gatehouse starts (and keeps answering, failing closed) while the IdP
 * is unreachable, and notices within seconds when it comes back.
 *
 * Discovery is never driven by traffic: after the first attempt a timer retries with capped
 * exponential back-off and jitter (0.5 s doubling to 5 s by default). A request that needs the
 * IdP meanwhile waits for an attempt already in flight, at most `timeoutMs`, and otherwise
 * fails at once with `ERR_OIDC_UNAVAILABLE`; it neither starts an attempt nor lengthens the wait.
 */
import * as oidc from 'openid-client';
import { GatehouseError } from '../errors/gatehouse-error.js';

/** Options for {@link createOidcClient}. */
export interface OidcClientOptions {
  /** The issuer identifier; discovery reads `<issuer>/.well-known/openid-configuration`. */
  readonly issuer: URL;
  readonly clientId: string;
  /** Omit for a public client (token endpoint auth `none`; PKCE still protects the code). */
  readonly clientSecret?: string;
  /** Scopes requested at sign-in. Default `['openid', 'email', 'profile']`; must include `openid`. */
  readonly scopes?: readonly string[];
  /**
   * Allow an `http:` issuer. Only for loopback (127.0.0.0/8, ::1, localhost): the demo and the
   * tests. Any other `http:` issuer is refused even with this set.
   */
  readonly allowInsecureIssuer?: boolean;
  /**
   * Timeout for each IdP request a Check waits for (code exchange, refresh, the ID token's
   * JWKS), and the longest a Check waits for a discovery attempt in flight. Default 300 ms:
   * inside Envoy's ext_authz timeout, so a slow IdP yields Gatehouse's own page.
   */
  readonly timeoutMs?: number;
  /** Timeout for a discovery request, which runs in the background. Default 5000 ms. */
  readonly discoveryTimeoutMs?: number;
  /** Allowed clock skew for ID token `exp`/`iat` checks. Default 30 s. */
  readonly clockToleranceSeconds?: number;
  /** How the client authenticates at the token endpoint (with a secret). Default `client_secret_basic`. */
  readonly tokenEndpointAuthMethod?: 'client_secret_basic' | 'client_secret_post';
  /** Wait after the first failed discovery; doubled after each further failure. Default 500 ms. */
  readonly retryMinDelayMs?: number;
  /** Cap on the wait between two discovery attempts. Default 5000 ms. Each wait is jittered to 50–100 %. */
  readonly retryMaxDelayMs?: number;
  /** Discovery outcomes, for logs and metrics. Must not throw. */
  readonly onEvent?: (event: OidcClientEvent) => void;
}

/** What the discovery loop reports. */
export type OidcClientEvent =
  | {
      readonly type: 'discovery-failed';
      readonly error: unknown;
      readonly failures: number;
      readonly retryInMs: number;
    }
  | { readonly type: 'discovered'; readonly failures: number; readonly metadata: OidcMetadata };

/** The discovered provider metadata Gatehouse uses. */
export interface OidcMetadata {
  /** The issuer exactly as the IdP spells it (ID tokens and the RFC 9207 `iss` must equal it). */
  readonly issuer: string;
  readonly authorizationEndpoint: string;
  readonly tokenEndpoint: string;
  /** For the bearer-token verifier (`createRemoteJWKSet`). */
  readonly jwksUri: string;
  /** Absent when the IdP has no RP-initiated logout. */
  readonly endSessionEndpoint?: string;
  /** RFC 9207: the authorization response must then carry `iss`. */
  readonly issParameterSupported: boolean;
  readonly idTokenSigningAlgValues: readonly string[];
}

/** Discovery state: `pending` before the first success, then `ready`. */
export type OidcClientState = 'pending' | 'ready';

/** A configured OIDC client. Cheap to create; discovery happens on first use or on {@link OidcClient.warmUp}. */
export interface OidcClient {
  readonly issuer: URL;
  readonly clientId: string;
  readonly scopes: readonly string[];
  readonly state: OidcClientState;
  /** The last discovery failure, for readiness checks and logs; cleared on success. */
  readonly lastError: unknown;
  /** Failed discovery attempts since the last success (or since start). */
  readonly failures: number;
  /**
   * The openid-client configuration once discovered; else the attempt in flight, waited for at
   * most `timeoutMs`. The first call starts the retry loop when nobody called `warmUp`.
   *
   * @throws GatehouseError `ERR_OIDC_UNAVAILABLE` when discovery has not succeeded (yet).
   */
  configuration(): Promise<oidc.Configuration>;
  /**
   * The provider metadata, discovering it first if needed.
   *
   * @throws GatehouseError `ERR_OIDC_UNAVAILABLE`
   */
  metadata(): Promise<OidcMetadata>;
  /** The metadata if discovery already succeeded; never waits. */
  metadataIfReady(): OidcMetadata | undefined;
  /** The whole discovery document as the IdP served it, once discovered (to persist it). */
  discoveryDocument(): Readonly<Record<string, unknown>> | undefined;
  /** Start discovery now and keep retrying on the back-off schedule until it succeeds. */
  warmUp(): void;
  /** Stop background retries. */
  close(): void;
}

const LOOPBACK_HOSTS = new Set(['localhost', '[::1]']);

/** True for 127.0.0.0/8, ::1 and localhost. */
function isLoopback(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/**
 * Create an OIDC client for one identity provider.
 *
 * @throws GatehouseError `ERR_CONFIG_INVALID` (naming the option) for an `http:` issuer without
 *   `allowInsecureIssuer` or on a non-loopback host, scopes without `openid`, empty client id.
 * @example
 *   const client = createOidcClient({ issuer: new URL('https://accounts.google.com'),
 *     clientId, clientSecret, scopes: ['openid', 'email', 'profile'] });
 *   client.warmUp();
 */
export function createOidcClient(options: OidcClientOptions): OidcClient {
  const issuer = new URL(options.issuer.href);
  const insecure = issuer.protocol === 'http:';
  if (issuer.protocol !== 'https:' && !insecure)
    configError(`oidc.issuer: must be an https URL, got ${issuer.protocol}`);
  if (insecure && options.allowInsecureIssuer !== true)
    configError(
      'oidc.issuer: http is only allowed with allowInsecureIssuer (loopback development)',
    );
  if (insecure && !isLoopback(issuer.hostname))
    configError(`oidc.issuer: http is only allowed on loopback, not ${issuer.hostname}`);
  if (issuer.search !== '' || issuer.hash !== '')
    configError('oidc.issuer: must not have a query or fragment');
  if (options.clientId === '') configError('oidc.clientId: must not be empty');
  const scopes = Object.freeze([...(options.scopes ?? ['openid', 'email', 'profile'])]);
  if (!scopes.includes('openid')) configError('oidc.scopes: must include openid');
  for (const scope of scopes)
    if (!/^[\x21\x23-\x5B\x5D-\x7E]+$/.test(scope))
      configError(`oidc.scopes: invalid scope ${JSON.stringify(scope)}`);

  const timeoutMs = options.timeoutMs ?? 300;
  const discoveryTimeoutMs = options.discoveryTimeoutMs ?? 5000;
  const minDelay = options.retryMinDelayMs ?? 500;
  const maxDelay = options.retryMaxDelayMs ?? 5000;
  const secret = options.clientSecret;
  const clientAuth =
    secret === undefined || secret === ''
      ? oidc.None()
      : options.tokenEndpointAuthMethod === 'client_secret_post'
        ? oidc.ClientSecretPost(secret)
        : oidc.ClientSecretBasic(secret);
  const clockTolerance = options.clockToleranceSeconds ?? 30;
  if (!Number.isInteger(clockTolerance) || clockTolerance < 0 || clockTolerance > 300)
    configError('oidc.clockToleranceSeconds: must be an integer from 0 to 300');

  let config: oidc.Configuration | undefined;
  let discoveredMetadata: OidcMetadata | undefined;
  let inflight: Promise<oidc.Configuration> | undefined;
  let lastError: unknown;
  let failures = 0;
  let started = false;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  async function discover(): Promise<oidc.Configuration> {
    const execute = insecure ? [oidc.allowInsecureRequests] : [];
    const metadata: Partial<oidc.ClientMetadata> = {
      ...(secret === undefined || secret === ''
        ? { token_endpoint_auth_method: 'none' }
        : { client_secret: secret }),
      [oidc.clockTolerance]: clockTolerance,
    };
    const discovered = await oidc.discovery(issuer, options.clientId, metadata, clientAuth, {
      execute,
      timeout: discoveryTimeoutMs / 1000,
    });
    // ID tokens from the token endpoint are signature-checked too (openid-client skips that
    // by default, relying on TLS): RFC 8725, and our tests run over plain loopback HTTP.
    oidc.enableNonRepudiationChecks(discovered);
    // openid-client takes seconds and turns them into AbortSignal.timeout(ms): fractions work.
    discovered.timeout = timeoutMs / 1000;
    const server = discovered.serverMetadata();
    if (
      server.authorization_endpoint === undefined ||
      server.token_endpoint === undefined ||
      server.jwks_uri === undefined
    ) {
      throw new Error(
        'discovery document lacks authorization_endpoint, token_endpoint or jwks_uri',
      );
    }
    discoveredMetadata = Object.freeze({
      issuer: server.issuer,
      authorizationEndpoint: server.authorization_endpoint,
      tokenEndpoint: server.token_endpoint,
      jwksUri: server.jwks_uri,
      ...(server.end_session_endpoint === undefined
        ? {}
        : { endSessionEndpoint: server.end_session_endpoint }),
      issParameterSupported: server.authorization_response_iss_parameter_supported === true,
      idTokenSigningAlgValues: Object.freeze([
        ...(server.id_token_signing_alg_values_supported ?? ['RS256']),
      ]),
    });
    return discovered;
  }

  /** One discovery attempt; on failure the next one is scheduled (never by a caller). */
  function attempt(): Promise<oidc.Configuration> {
    if (config !== undefined) return Promise.resolve(config);
    if (inflight !== undefined) return inflight;
    const startedAt = Date.now();
    inflight = discover().then(
      (discovered) => {
        config = discovered;
        lastError = undefined;
        inflight = undefined;
        const before = failures;
        failures = 0;
        emit({
          type: 'discovered',
          failures: before,
          metadata: discoveredMetadata as OidcMetadata,
        });
        return discovered;
      },
      (err: unknown) => {
        lastError = err;
        failures += 1;
        inflight = undefined;
        // The wait counts from the attempt's start: an attempt that hung until its timeout is
        // followed at once by the next, so recovery takes at most max(timeout, cap) plus a request.
        const retryInMs = closed ? -1 : schedule(Date.now() - startedAt);
        emit({ type: 'discovery-failed', error: err, failures, retryInMs });
        throw new GatehouseError('ERR_OIDC_UNAVAILABLE', { cause: err });
      },
    );
    return inflight;
  }

  function emit(event: OidcClientEvent): void {
    try {
      options.onEvent?.(event);
    } catch {
      // A listener's failure is not discovery's.
    }
  }

  /** Capped exponential back-off with "equal jitter": half fixed, half random. */
  function backoff(): number {
    const base = Math.min(maxDelay, minDelay * 2 ** Math.min(30, Math.max(0, failures - 1)));
    return Math.round(base / 2 + Math.random() * (base / 2));
  }

  function schedule(elapsedMs: number): number {
    if (closed || config !== undefined) return -1;
    if (timer !== undefined) clearTimeout(timer);
    const delay = Math.max(0, backoff() - elapsedMs);
    timer = setTimeout(() => {
      timer = undefined;
      attempt().catch(() => undefined);
    }, delay);
    timer.unref();
    return delay;
  }

  function start(): void {
    if (started) return;
    started = true;
    closed = false;
    attempt().catch(() => undefined);
  }

  /**
   * What a request gets: the configuration, or the attempt in flight for at most `timeoutMs`,
   * or ERR_OIDC_UNAVAILABLE at once. The first call starts the loop when nobody warmed it up.
   */
  function configuration(): Promise<oidc.Configuration> {
    if (config !== undefined) return Promise.resolve(config);
    start();
    if (config !== undefined) return Promise.resolve(config);
    const pending = inflight;
    if (pending === undefined)
      return Promise.reject(new GatehouseError('ERR_OIDC_UNAVAILABLE', { cause: lastError }));
    return new Promise((resolve, reject) => {
      const deadline = setTimeout(
        () =>
          reject(
            new GatehouseError('ERR_OIDC_UNAVAILABLE', {
              cause: new Error(`discovery still running after ${timeoutMs} ms`),
            }),
          ),
        timeoutMs,
      );
      deadline.unref();
      pending.then(
        (value) => {
          clearTimeout(deadline);
          resolve(value);
        },
        (err: unknown) => {
          clearTimeout(deadline);
          reject(
            err instanceof GatehouseError
              ? err
              : new GatehouseError('ERR_OIDC_UNAVAILABLE', { cause: err }),
          );
        },
      );
    });
  }

  return {
    issuer,
    clientId: options.clientId,
    scopes,
    get state(): OidcClientState {
      return config === undefined ? 'pending' : 'ready';
    },
    get lastError(): unknown {
      return lastError;
    },
    get failures(): number {
      return failures;
    },
    configuration,
    async metadata(): Promise<OidcMetadata> {
      await configuration();
      return discoveredMetadata as OidcMetadata;
    },
    metadataIfReady: () => (config === undefined ? undefined : discoveredMetadata),
    discoveryDocument: () =>
      config === undefined
        ? undefined
        : (config.serverMetadata() as unknown as Record<string, unknown>),
    warmUp: start,
    close(): void {
      closed = true;
      started = false;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}

function configError(message: string): never {
  throw new GatehouseError('ERR_CONFIG_INVALID', { message });
}
