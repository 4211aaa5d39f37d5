import { loadConfig } from '../config/load.js';
import { diffConfig } from '../config/reload.js';
import type { Config } from '../config/types.js';
import { createCheckHandler, type CheckDeps, type CheckOutcome } from '../check/handle.js';
import { deviceOptions } from '../device/trust.js';
import { GatehouseError } from '../errors/gatehouse-error.js';
import { setupIdentity } from './identity.js';
import { createCheckObserver } from '../observability/check.js';
import { Readiness, type ReadinessReport } from '../health/readiness.js';
import { startHttpListener, type HttpListener } from '../http/server.js';
import { DecisionLog } from '../log/decision-log.js';
import type { Logger } from '../log/logger.js';
import { createMetrics, type Metrics } from '../metrics/metrics.js';
import { PolicyEngine, type ReloadResult } from '../policy/engine.js';
import { createTracer } from '../tracing/tracer.js';
import { HealthState } from '../wire/health.js';
import { startGrpcServer } from '../wire/http2/server.js';
import { listenerTls } from './listener-tls.js';
import { missingNodeFlags } from './node-flags.js';
import type { GrpcServer } from '../wire/types.js';
import type { SessionStore } from '../store/types.js';
import type { SessionBook } from '../identity/session/book.js';
import type { CheckRequest } from '../gen/envoy/service/auth/v3/external_auth_pb.js';

/** Options for {@link startGatehouse}. */
export interface StartOptions {
  /** The configuration file, re-read on {@link Gatehouse.reload} (SIGHUP). */
  readonly configFile?: string;
  /**
   * Start the HTTP listener (health, readiness, metrics, JWKS). Default true; a cluster worker
   * (src/workers/worker.ts) passes false: its primary answers those for every worker.
   */
  readonly httpListener?: boolean;
  /**
   * Open the gRPC listener only once the policy is loaded. Default false: a single process
   * listens first, so probes see "loading" and an early Check is denied. A cluster worker passes
   * true: its listener joins the primary's round-robin only when it can answer, so a replacement
   * worker never denies a Check with ERR_POLICY_NOT_LOADED while the other workers could allow it.
   */
  readonly grpcAfterPolicy?: boolean;
  /**
   * The session store to use instead of opening `session.store`: a cluster worker passes the
   * primary's memory store over IPC (src/store/ipc.ts).
   */
  readonly sessionStore?: SessionStore;
  /**
   * Tests only: the sessions' and the Check path's clock (ms since the epoch), so a test can
   * move time past an idle timeout, a re-validation interval or a device proof's interval.
   * Deliberately not a configuration key: production cannot turn it on.
   */
  readonly clock?: () => number;
}

/** What a reload did. */
export interface ReloadReport {
  /** The policy reload (or source switch) result. */
  readonly policy: ReloadResult;
  /** Changed config keys applied live. */
  readonly applied: readonly string[];
  /** Changed config keys refused: they need a restart. */
  readonly refused: readonly string[];
  /** Set when the config file could not be read or validated (nothing from it applied). */
  readonly configError?: GatehouseError;
}

/** A running Gatehouse. */
export interface Gatehouse {
  readonly grpcPort: number;
  /** The HTTP listener's port; 0 when started without it (`httpListener: false`). */
  readonly httpPort: number;
  readonly health: HealthState;
  /** The policy engine serving now (a new one after a reload changed the policy source). */
  readonly policy: PolicyEngine;
  readonly metrics: Metrics;
  /** Server-side sessions (for tests and operators); undefined without `identity`. */
  readonly sessions: SessionBook | undefined;
  /**
   * One Check in this process, exactly as the gRPC listener runs it (benchmarks: the CPU of the
   * decision without the transport's).
   */
  check(request: CheckRequest): Promise<CheckOutcome>;
  /** Readiness now, as `/readyz` reports it (also keeps the gRPC health status in step). */
  readiness(): ReadinessReport;
  /**
   * What SIGHUP does: re-read the config file (when started with one) and apply what is safe
   * live (`log.*`, `policy.*`), refusing the rest with an error log; then reload the policy.
   * Never throws: a bad file or policy keeps the running ones.
   */
  reload(): Promise<ReloadReport>;
  /**
   * Drain and stop: report NOT_SERVING (gRPC health and `/readyz`), keep answering for
   * `grpc.drain_delay_ms`, stop accepting Checks, let in-flight ones finish within
   * `grpc.shutdown_grace_ms`, then close every listener and flush traces.
   */
  stop(): Promise<void>;
}

/**
 * Start Gatehouse from a validated configuration: identity (keys are loaded now), the gRPC and
 * HTTP listeners (not ready yet), then the policy; ready once the policy is loaded and the
 * identity provider discovered. Start fails when the policy cannot be loaded.
 *
 * @throws GatehouseError `ERR_POLICY_LOAD`, `ERR_POLICY_COMPILE`, `ERR_POLICY_ENTRYPOINT`,
 *   `ERR_POLICY_BUILTIN_MISSING` (message naming `policy.bundle`, `policy.dir` or
 *   `policy.entrypoint`) when the initial policy is unusable; `ERR_KEYS_INVALID` naming
 *   `keys.signing` or `session.secret`; Error when a port cannot be bound.
 * @example
 *   const gatehouse = await startGatehouse(await loadConfig('config.yaml'), createLogger({ level: 'info' }), { configFile: 'config.yaml' });
 *   process.on('SIGHUP', () => void gatehouse.reload());
 *   process.on('SIGTERM', () => void gatehouse.stop());
 */
export async function startGatehouse(
  config: Config,
  log: Logger,
  options: StartOptions = {},
): Promise<Gatehouse> {
  let running = config;
  if (config.development) {
    // docs/reference/config.md promises this line: it must not be missed in a production log.
    log.warn(
      { development: true },
      'DEVELOPMENT MODE (development: true): generated keys and an http:// identity provider are accepted. Never use this in production.',
    );
  }
  // Device CAs are read first: an unusable ca_file stops the start before anything is opened.
  const device = config.device === undefined ? undefined : deviceOptions(config.device);
  const metrics = createMetrics();
  const health = new HealthState();
  const decisions = new DecisionLog(log, {
    sampleAllowed: config.log.sample_allowed,
    includeQuery: config.log.include_query,
  });
  const tracer = await createTracer(config.tracing);
  const identity = await setupIdentity(config, log, {
    metrics,
    tracer,
    sessionStore: options.sessionStore,
    clock: options.clock,
  });
  const oidc = identity.oidc;
  if (oidc !== undefined)
    metrics.watchIdentityProvider(config.identity?.issuer ?? oidc.issuer.href, () => oidc.state);
  if (identity.sessions !== undefined) metrics.watchSessionStore(() => identity.sessionStore());

  let engine = createEngine(config, log, metrics);
  const readiness = new Readiness({
    health,
    policyLoaded: () => engine.current() !== undefined,
    identityProvider: () => identity.status(),
    sessionStore: () => identity.sessionStore()?.serving,
  });
  const deps: CheckDeps = {
    policy: () => engine.current(),
    identity: identity.runtime,
    log,
    observer: createCheckObserver({ decisions, metrics, tracer, log }),
    ...(device === undefined ? {} : { device }),
    ...(options.clock === undefined ? {} : { now: options.clock }),
  };
  const check = createCheckHandler(deps);

  // Listeners first, not ready: probes see "loading" instead of a refused connection, and a
  // Check arriving now is denied (ERR_POLICY_NOT_LOADED), never allowed.
  let grpc: GrpcServer | undefined;
  let http: HttpListener | undefined;
  const cleanUp = async () => {
    await grpc?.shutdown(0);
    await http?.close();
    engine.stop();
    await identity.close();
    await tracer.shutdown().catch(() => undefined);
  };
  const listenGrpc = () =>
    startGrpcServer({
      address: config.grpc.address,
      port: config.grpc.port,
      maxReceiveMessageBytes: config.grpc.max_receive_message_bytes,
      maxSendMessageBytes: config.grpc.max_send_message_bytes,
      limits: {
        maxConcurrentStreams: config.grpc.max_concurrent_streams,
        maxConnections: config.grpc.max_connections,
        idleTimeoutMs: config.grpc.idle_timeout_ms,
        messageReadTimeoutMs: config.grpc.message_read_timeout_ms,
      },
      check: async (request) => (await check(request)).response,
      health,
      tls: listenerTls(config.grpc.tls, 'grpc.tls', log),
      onConnectionEvent: (event) =>
        (event.type === 'unauthorized-client' ? log.warn : log.debug).call(
          log,
          { event: event.type },
          'grpc connection',
        ),
    });
  try {
    if (options.grpcAfterPolicy !== true) grpc = await listenGrpc();
    if (options.httpListener !== false) {
      http = await startHttpListener({
        tls: listenerTls(config.http.tls, 'http.tls', log),
        address: config.http.address,
        port: config.http.port,
        readiness: () => readiness.report(),
        metrics: metrics.registry,
        jwks: identity.runtime.jwks,
      });
    }
    await engine.start().catch((err: unknown) => {
      throw namePolicyKey(GatehouseError.from(err, 'ERR_POLICY_LOAD'), config);
    });
    grpc ??= await listenGrpc(); // grpcAfterPolicy: now that the policy is loaded
  } catch (err) {
    await cleanUp();
    throw err;
  }
  readiness.watch();
  // Launched without Gatehouse's V8 flags (e.g. `node main.js` by hand), memory under load is
  // V8's default sizing; say so once, next to where an operator looks.
  const missingFlags = missingNodeFlags();
  log.info(
    {
      grpc_port: grpc.port,
      http_port: http?.port,
      policy_revision: engine.current()?.revision,
      ready: readiness.report(),
      ...(missingFlags.length > 0 ? { node_flags_missing: missingFlags } : {}),
    },
    'gatehouse serving',
  );

  const grpcServer = grpc;
  const httpListener = http;
  let stopping: Promise<void> | undefined;

  async function reload(): Promise<ReloadReport> {
    let next: Config | undefined;
    let configError: GatehouseError | undefined;
    if (options.configFile !== undefined) {
      try {
        next = await loadConfig(options.configFile);
      } catch (err) {
        configError = GatehouseError.from(err, 'ERR_CONFIG_INVALID');
        log.error(
          { code: configError.code, err: configError, policy_revision: engine.current()?.revision },
          'config reload refused: the file is invalid; the running configuration stays',
        );
      }
    }
    const diff = next === undefined ? { live: [], restart: [] } : diffConfig(running, next);
    if (next !== undefined && diff.restart.length > 0) {
      log.error(
        {
          code: 'ERR_CONFIG_INVALID',
          refused: diff.restart,
          policy_revision: engine.current()?.revision,
        },
        'config reload: these changes need a restart and were not applied',
      );
    }
    if (next !== undefined && diff.live.some((k) => k.startsWith('log.'))) {
      log.level = next.log.level;
      decisions.configure({
        sampleAllowed: next.log.sample_allowed,
        includeQuery: next.log.include_query,
      });
      running = { ...running, log: next.log };
    }
    let policy: ReloadResult;
    if (next !== undefined && diff.live.some((k) => k.startsWith('policy.'))) {
      // A new source or entrypoint: load it off to the side; swap only when it loaded.
      const candidate = createEngine(next, log, metrics);
      try {
        const loaded = await candidate.start();
        const previous = engine;
        engine = candidate;
        previous.stop();
        running = { ...running, policy: next.policy };
        policy = {
          ok: true,
          revision: loaded.revision,
          previousRevision: previous.current()?.revision,
        };
      } catch (err) {
        candidate.stop();
        const error = namePolicyKey(GatehouseError.from(err, 'ERR_POLICY_LOAD'), next);
        policy = { ok: false, error, revision: engine.current()?.revision };
      }
    } else {
      policy = await engine.reload();
    }
    const applied = diff.live.filter((k) => !k.startsWith('policy.') || policy.ok);
    const report: ReloadReport = {
      policy,
      applied,
      refused: diff.restart,
      ...(configError === undefined ? {} : { configError }),
    };
    log.info(
      {
        applied,
        refused: diff.restart,
        policy_ok: policy.ok,
        policy_revision: engine.current()?.revision,
      },
      'reloaded',
    );
    return report;
  }

  return {
    grpcPort: grpcServer.port,
    httpPort: httpListener?.port ?? 0,
    health,
    get policy() {
      return engine;
    },
    metrics,
    sessions: identity.sessions,
    check,
    readiness: () => readiness.report(),
    reload,
    stop() {
      stopping ??= (async () => {
        readiness.drain();
        log.info({ drain_delay_ms: config.grpc.drain_delay_ms }, 'draining');
        if (config.grpc.drain_delay_ms > 0)
          await new Promise((r) => setTimeout(r, config.grpc.drain_delay_ms));
        await grpcServer.shutdown(config.grpc.shutdown_grace_ms);
        await httpListener?.close();
        engine.stop();
        await identity.close();
        await tracer
          .shutdown()
          .catch((err: unknown) => log.warn({ err }, 'trace export at shutdown failed'));
        log.info('stopped');
      })();
      return stopping;
    },
  };
}

/** A policy engine for `config.policy`, logging and counting its loads. */
function createEngine(config: Config, log: Logger, metrics: Metrics): PolicyEngine {
  const engine = new PolicyEngine({
    ...(config.policy.bundle === undefined ? {} : { bundle: config.policy.bundle }),
    ...(config.policy.dir === undefined ? {} : { dir: config.policy.dir }),
    entrypoint: config.policy.entrypoint,
    opaPath: config.policy.opa,
    regoVersion: config.policy.rego_version,
    watch: config.policy.watch,
  });
  engine.on((event) => {
    switch (event.type) {
      case 'loaded':
        metrics.policyReloads.inc({ result: 'success' });
        metrics.recordReload(true);
        metrics.setRevision(event.revision);
        log.info(
          {
            policy_revision: event.revision,
            previous_revision: event.previousRevision,
            trigger: event.trigger,
            duration_ms: event.durationMs,
            policy_input:
              event.inputPaths === 'all' ? 'all' : event.inputPaths.map((p) => p.join('.')),
          },
          'policy loaded',
        );
        return;
      case 'failed':
        metrics.policyReloads.inc({ result: 'failure' });
        metrics.recordReload(false);
        log.error(
          {
            code: event.error.code,
            err: event.error,
            policy_revision: event.revision,
            trigger: event.trigger,
          },
          event.revision === undefined
            ? 'policy load failed'
            : 'policy reload refused; the last good policy keeps serving',
        );
        return;
      case 'watch-error':
        log.error({ err: event.error }, 'policy watch failed; SIGHUP still reloads');
    }
  });
  return engine;
}

/** Prefix a policy load error with the config key at fault, so the operator knows what to fix. */
function namePolicyKey(error: GatehouseError, config: Config): GatehouseError {
  const key =
    error.code === 'ERR_POLICY_ENTRYPOINT'
      ? 'policy.entrypoint'
      : config.policy.bundle !== undefined
        ? 'policy.bundle'
        : 'policy.dir';
  if (error.message.startsWith(`${key}:`)) return error;
  return new GatehouseError(error.code, {
    message: `${key}: ${error.message}`,
    cause: error.cause ?? error,
  });
}
