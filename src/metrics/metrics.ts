/**
 * Gatehouse's Prometheus metrics, on a registry of their own (never prom-client's global one,
 * so two Gatehouses in one process — tests — or an embedding application never collide).
 * docs/operations.md lists what each one counts.
 *
 * Label cardinality is bounded: `route` comes only from Envoy's `context_extensions.route`
 * (operator-defined, never from the request) and is capped at {@link MAX_ROUTES} distinct
 * values; `code` only takes documented error codes; `status` only HTTP statuses Envoy accepts.
 *
 * With `workers` > 1 each worker has its own registry and the primary serves their sum
 * (src/workers/primary.ts, prom-client's `AggregatorRegistry.aggregate`): counters and
 * histograms add up; `gatehouse_policy_revision_info` takes the max, so it stays 1 per revision.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ERROR_CODES } from '../errors/codes.js';

/** Distinct `route` label values kept; later routes are counted under {@link OTHER_ROUTE}. */
export const MAX_ROUTES = 100;
/** The `route` label of routes beyond {@link MAX_ROUTES}. */
export const OTHER_ROUTE = '_other';
/** Longest `route` label value kept; longer ones are cut. */
const MAX_ROUTE_LENGTH = 64;
const MAX_REVISION_LENGTH = 128;

/** Check latency buckets, in seconds: 50 µs to 1 s. */
export const CHECK_BUCKETS: readonly number[] = Object.freeze([
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
]);

/** The metric set. */
export interface Metrics {
  readonly registry: Registry;
  /** Seconds from receiving a CheckRequest to having its response. */
  readonly checkDuration: Histogram;
  /**
   * Checks answered, by result, HTTP status and route. `result`: `allowed`, `denied`, `error`, or
   * `reserved` — Gatehouse's own paths (who am I, sign-in, callback, sign-out, signed out, JWKS),
   * answered by Gatehouse itself: neither allowed upstream nor a denial.
   */
  readonly decisions: Counter<'result' | 'status' | 'route'>;
  /** Seconds spent in the policy's wasm evaluation. */
  readonly policyEvalDuration: Histogram;
  /** Policy load attempts (start, file change, SIGHUP), by result (success, failure). */
  readonly policyReloads: Counter<'result'>;
  /** 1 for the revision serving now. */
  readonly policyRevision: Gauge<'revision'>;
  /** 1 when the last policy load attempt succeeded, 0 when it failed (the last good policy serves). */
  readonly policyLastReloadSuccess: Gauge;
  /** Unix time of the last policy load attempt, in seconds. */
  readonly policyLastReloadTime: Gauge;
  /** Sign-outs completed (the session cookie cleared), by whether the IdP's end-session was reached. */
  readonly signOuts: Counter<'idp'>;
  /** Sign-ins by stage (started, completed, failed) and reason. */
  readonly signIns: Counter<'stage' | 'reason'>;
  /** Session renewals with the refresh token, by result. */
  readonly sessionRefreshes: Counter<'result'>;
  /** Bearer verifications' key lookups against the IdP's JWKS, by result (see docs). */
  readonly jwksFetches: Counter<'result'>;
  /** Coded errors seen on the Check path, by code. */
  readonly errors: Counter<'code'>;
  /** The bounded `route` label for a route name. */
  routeLabel(route: string | undefined): string;
  /** Record the revision now serving. */
  setRevision(revision: string): void;
  /** Count a coded error (unknown codes count as ERR_INTERNAL). */
  countError(code: string): void;
  /** Record one policy load attempt's outcome (start, file change, SIGHUP). */
  recordReload(success: boolean, at?: Date): void;
  /**
   * Report the identity provider's discovery state as `gatehouse_identity_provider_ready{issuer}`,
   * read at each scrape (1 discovered, 0 not yet or failing); never called without identity, so
   * there is then no series.
   */
  watchIdentityProvider(issuer: string, state: () => 'pending' | 'ready'): void;
  /**
   * Report the session store as `gatehouse_session_store_serving{state}` (1 for what this
   * replica's cache serves now: `live`, `stale` or `unavailable`) and
   * `gatehouse_session_cache_lookups_total{result}` (hit, miss, stale, unavailable), read at each
   * scrape; never called without identity.
   */
  watchSessionStore(status: () => SessionStoreCounters | undefined): void;
}

/** What {@link Metrics.watchSessionStore} reads (src/store/cache.ts `SessionCacheStatus`). */
export interface SessionStoreCounters {
  readonly serving: 'live' | 'stale' | 'unavailable';
  readonly hits: number;
  readonly misses: number;
  readonly staleHits: number;
  readonly unavailable: number;
}

const KNOWN_CODES: ReadonlySet<string> = new Set(ERROR_CODES);

/**
 * Create the metric set on a fresh registry, with prom-client's default process metrics.
 *
 * @example
 *   const metrics = createMetrics();
 *   res.end(await metrics.registry.metrics());
 */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const routes = new Set<string>();
  const policyRevision = new Gauge({
    name: 'gatehouse_policy_revision_info',
    help: 'The policy revision serving now (value 1).',
    labelNames: ['revision'] as const,
    registers,
    aggregator: 'max',
  });
  const policyLastReloadSuccess = new Gauge({
    name: 'gatehouse_policy_last_reload_success',
    help: 'Whether the last policy load attempt succeeded (1) or failed (0; the last good policy keeps serving).',
    registers,
    aggregator: 'min',
  });
  const policyLastReloadTime = new Gauge({
    name: 'gatehouse_policy_last_reload_timestamp_seconds',
    help: 'Unix time of the last policy load attempt.',
    registers,
    aggregator: 'max',
  });
  let identityProvider: { issuer: string; state: () => 'pending' | 'ready' } | undefined;
  new Gauge({
    name: 'gatehouse_identity_provider_ready',
    help: "Whether the identity provider's discovery document has been fetched (1) or not yet / failing (0). No series without identity.",
    labelNames: ['issuer'] as const,
    registers,
    aggregator: 'min',
    collect() {
      if (identityProvider !== undefined)
        this.set({ issuer: identityProvider.issuer }, identityProvider.state() === 'ready' ? 1 : 0);
    },
  });
  let sessionStore: (() => SessionStoreCounters | undefined) | undefined;
  new Gauge({
    name: 'gatehouse_session_store_serving',
    help: 'What the session cache serves now (value 1): live (store reachable), stale (unreachable, within stale_window_ms), unavailable (past it: sessions are denied). No series without identity.',
    labelNames: ['state'] as const,
    registers,
    aggregator: 'max',
    collect() {
      const status = sessionStore?.();
      if (status === undefined) return;
      for (const state of ['live', 'stale', 'unavailable'] as const)
        this.set({ state }, status.serving === state ? 1 : 0);
    },
  });
  const lookupsSeen = { hit: 0, miss: 0, stale: 0, unavailable: 0 };
  new Counter({
    name: 'gatehouse_session_cache_lookups_total',
    help: 'Session lookups by result: hit (cache), miss (asked the store), stale (cache while the store is unreachable), unavailable (denied). No series without identity.',
    labelNames: ['result'] as const,
    registers,
    collect() {
      const status = sessionStore?.();
      if (status === undefined) return;
      const now = {
        hit: status.hits,
        miss: status.misses,
        stale: status.staleHits,
        unavailable: status.unavailable,
      };
      for (const result of ['hit', 'miss', 'stale', 'unavailable'] as const) {
        this.inc({ result }, Math.max(0, now[result] - lookupsSeen[result]));
        lookupsSeen[result] = Math.max(lookupsSeen[result], now[result]);
      }
    },
  });
  const errors = new Counter({
    name: 'gatehouse_errors_total',
    help: 'Coded errors on the Check path (failed Checks and refused credentials), by code.',
    labelNames: ['code'] as const,
    registers,
  });
  return {
    registry,
    checkDuration: new Histogram({
      name: 'gatehouse_check_duration_seconds',
      help: 'Time to answer one Check, from request to response.',
      buckets: [...CHECK_BUCKETS],
      registers,
    }),
    decisions: new Counter({
      name: 'gatehouse_decisions_total',
      help: 'Checks answered, by result (allowed, denied, error, reserved: answered by Gatehouse itself), HTTP status returned and route.',
      labelNames: ['result', 'status', 'route'] as const,
      registers,
    }),
    policyEvalDuration: new Histogram({
      name: 'gatehouse_policy_eval_duration_seconds',
      help: 'Time spent evaluating the policy for one Check.',
      buckets: [...CHECK_BUCKETS],
      registers,
    }),
    policyReloads: new Counter({
      name: 'gatehouse_policy_reloads_total',
      help: 'Policy load attempts (start, file change, SIGHUP), by result.',
      labelNames: ['result'] as const,
      registers,
    }),
    policyRevision,
    policyLastReloadSuccess,
    policyLastReloadTime,
    signOuts: new Counter({
      name: 'gatehouse_sign_outs_total',
      help: 'Sign-outs completed, by whether the identity provider\'s end-session endpoint was used (idp="true") or it was unreachable or has none (idp="false").',
      labelNames: ['idp'] as const,
      registers,
    }),
    signIns: new Counter({
      name: 'gatehouse_sign_ins_total',
      help: 'Sign-ins by stage (started, completed, failed) and reason.',
      labelNames: ['stage', 'reason'] as const,
      registers,
    }),
    sessionRefreshes: new Counter({
      name: 'gatehouse_session_refreshes_total',
      help: 'Expired sessions renewed with their refresh token, by result.',
      labelNames: ['result'] as const,
      registers,
    }),
    jwksFetches: new Counter({
      name: 'gatehouse_jwks_fetches_total',
      help: "Bearer verifications' key lookups in the identity provider's JWKS, by result.",
      labelNames: ['result'] as const,
      registers,
    }),
    errors,
    routeLabel(route) {
      if (route === undefined || route === '') return '';
      const label = route.length > MAX_ROUTE_LENGTH ? route.slice(0, MAX_ROUTE_LENGTH) : route;
      if (routes.has(label)) return label;
      if (routes.size >= MAX_ROUTES) return OTHER_ROUTE;
      routes.add(label);
      return label;
    },
    setRevision(revision) {
      policyRevision.reset();
      policyRevision.set({ revision: revision.slice(0, MAX_REVISION_LENGTH) }, 1);
    },
    countError(code) {
      errors.inc({ code: KNOWN_CODES.has(code) ? code : 'ERR_INTERNAL' });
    },
    recordReload(success, at = new Date()) {
      policyLastReloadSuccess.set(success ? 1 : 0);
      policyLastReloadTime.set(at.getTime() / 1000);
    },
    watchIdentityProvider(issuer, state) {
      identityProvider = { issuer: issuer.slice(0, MAX_REVISION_LENGTH), state };
    },
    watchSessionStore(status) {
      sessionStore = status;
    },
  };
}
