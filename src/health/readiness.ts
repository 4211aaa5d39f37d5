/**
 * Readiness: Gatehouse is ready to answer Checks when a policy is loaded and, when sign-in is
 * configured, the identity provider's discovery document has been fetched or its last good keys
 * were loaded from the cache file (`cached`: bearer tokens and sessions work, sign-in waits for
 * the IdP); never while draining. The gRPC health service and HTTP `/readyz` report the same thing.
 */
import { ServingStatus, type HealthState } from '../wire/health.js';

/** What `/readyz` reports. */
export interface ReadinessReport {
  readonly ready: boolean;
  readonly policy: 'loaded' | 'loading';
  readonly identity_provider: IdentityProviderState | 'not configured';
  /** The last failed discovery, in words; absent once discovery succeeded. */
  readonly identity_provider_error?: string;
  /** When the IdP keys in use were fetched (ISO 8601), when there are any. */
  readonly identity_keys_fetched_at?: string;
  /**
   * What the session cache serves (docs/reference/session-store.md): `unavailable` (the store
   * unreachable past `stale_window_ms`) makes the replica not ready. Absent without identity.
   */
  readonly session_store?: 'live' | 'stale' | 'unavailable';
  readonly draining: boolean;
}

/** `ready`: discovered; `cached`: not discovered, but the last good (or the configured static) keys are in use; `pending`: neither. */
export type IdentityProviderState = 'ready' | 'cached' | 'pending';

/** The identity provider as readiness sees it. */
export interface IdentityProviderStatus {
  readonly state: IdentityProviderState;
  readonly error?: string | undefined;
  readonly keysFetchedAt?: number | undefined;
}

/** Options for {@link Readiness}. */
export interface ReadinessOptions {
  readonly health: HealthState;
  readonly policyLoaded: () => boolean;
  /** The identity provider's state; `undefined` when none is configured. */
  readonly identityProvider: () => IdentityProviderStatus | undefined;
  /** What the session cache serves now; undefined without identity. */
  readonly sessionStore?: () => 'live' | 'stale' | 'unavailable' | undefined;
  /** How often to re-check while not ready (the OIDC client has no event to listen to). Default 200 ms. */
  readonly pollMs?: number;
}

/** Computes readiness and keeps the gRPC health status in step with it. */
export class Readiness {
  readonly #options: ReadinessOptions;
  #draining = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: ReadinessOptions) {
    this.#options = options;
  }

  /** Readiness now (also pushes it to the gRPC health status). */
  report(): ReadinessReport {
    const idp = this.#options.identityProvider();
    const policy = this.#options.policyLoaded() ? 'loaded' : 'loading';
    const identityProvider = idp === undefined ? 'not configured' : idp.state;
    const store = this.#options.sessionStore?.();
    const ready =
      !this.#draining &&
      policy === 'loaded' &&
      identityProvider !== 'pending' &&
      store !== 'unavailable';
    this.#options.health.set(ready ? ServingStatus.SERVING : ServingStatus.NOT_SERVING);
    return {
      ready,
      policy,
      identity_provider: identityProvider,
      ...(idp?.error === undefined ? {} : { identity_provider_error: idp.error }),
      ...(idp?.keysFetchedAt === undefined
        ? {}
        : { identity_keys_fetched_at: new Date(idp.keysFetchedAt).toISOString() }),
      ...(store === undefined ? {} : { session_store: store }),
      draining: this.#draining,
    };
  }

  /** Re-check until ready (then stop polling: nothing un-readies Gatehouse but draining). */
  watch(): void {
    if (this.#timer !== undefined || this.report().ready || this.#draining) return;
    this.#timer = setInterval(() => {
      if (this.report().ready || this.#draining) this.#stopTimer();
    }, this.#options.pollMs ?? 200);
    this.#timer.unref();
  }

  /** Draining (SIGTERM): not ready from now on. */
  drain(): void {
    this.#draining = true;
    this.#stopTimer();
    this.report();
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
