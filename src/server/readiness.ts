/**
 * Readiness: Gatehouse is ready to answer Checks when a policy is loaded and, when sign-in is
 * configured, the identity provider's discovery document has been fetched; never while
 * draining. The gRPC health service and HTTP `/readyz` report the same thing.
 */
import { ServingStatus, type HealthState } from '../wire/health.js';

/** What `/readyz` reports. */
export interface ReadinessReport {
  readonly ready: boolean;
  readonly policy: 'loaded' | 'loading';
  readonly identity_provider: 'ready' | 'pending' | 'not configured';
  readonly draining: boolean;
}

/** Options for {@link Readiness}. */
export interface ReadinessOptions {
  readonly health: HealthState;
  readonly policyLoaded: () => boolean;
  /** The OIDC client's discovery state; `undefined` when no identity provider is configured. */
  readonly identityProvider: () => 'pending' | 'ready' | undefined;
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
    const identityProvider = idp === undefined ? 'not configured' : idp;
    const ready = !this.#draining && policy === 'loaded' && identityProvider !== 'pending';
    this.#options.health.set(ready ? ServingStatus.SERVING : ServingStatus.NOT_SERVING);
    return { ready, policy, identity_provider: identityProvider, draining: this.#draining };
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
