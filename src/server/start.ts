import type { Config } from '../config/types.js';
import { createCheckHandler, type CheckDeps } from '../check/handle.js';
import { setupIdentity } from './identity.js';
import { startHttpListener, type HttpListener } from '../http/server.js';
import type { Logger } from '../log/logger.js';
import { PolicyEngine } from '../policy/engine.js';
import { HealthState, ServingStatus } from '../wire/health.js';
import { startGrpcServer } from '../wire/grpc-js/server.js';
import type { GrpcServer } from '../wire/types.js';

/** A running Gatehouse. */
export interface Gatehouse {
  readonly grpcPort: number;
  readonly httpPort: number;
  readonly health: HealthState;
  readonly policy: PolicyEngine;
  /** Reload the policy now (what SIGHUP does). */
  reload(): Promise<void>;
  /**
   * Drain and stop: report NOT_SERVING, stop accepting Checks, let in-flight ones finish
   * within `grpc.shutdown_grace_ms`, then close every listener.
   */
  stop(): Promise<void>;
}

/**
 * Start Gatehouse from a validated configuration: load the policy (start fails when it cannot
 * be loaded), then serve gRPC (Check + health) and the HTTP listener.
 *
 * @throws GatehouseError `ERR_POLICY_LOAD`, `ERR_POLICY_COMPILE`, `ERR_POLICY_ENTRYPOINT`,
 *   `ERR_POLICY_BUILTIN_MISSING` when the initial policy is unusable; Error when a port
 *   cannot be bound.
 * @example
 *   const gatehouse = await startGatehouse(await loadConfig('config.yaml'), createLogger({ level: 'info' }));
 *   process.on('SIGTERM', () => void gatehouse.stop());
 */
export async function startGatehouse(config: Config, log: Logger): Promise<Gatehouse> {
  const health = new HealthState();
  const policy = new PolicyEngine({
    ...(config.policy.bundle === undefined ? {} : { bundle: config.policy.bundle }),
    ...(config.policy.dir === undefined ? {} : { dir: config.policy.dir }),
    entrypoint: config.policy.entrypoint,
    opaPath: config.policy.opa,
    watch: config.policy.watch,
  });
  policy.on((event) => {
    switch (event.type) {
      case 'loaded':
        log.info({ policy_revision: event.revision, previous_revision: event.previousRevision, trigger: event.trigger, duration_ms: event.durationMs }, 'policy loaded');
        return;
      case 'failed':
        log.error(
          { code: event.error.code, err: event.error, policy_revision: event.revision, trigger: event.trigger },
          event.revision === undefined ? 'policy load failed' : 'policy reload refused; the last good policy keeps serving',
        );
        return;
      case 'watch-error':
        log.error({ err: event.error }, 'policy watch failed; SIGHUP still reloads');
    }
  });
  await policy.start();

  const identity = await setupIdentity(config, log);
  const deps: CheckDeps = { policy: () => policy.current(), identity: identity.runtime, log };
  const check = createCheckHandler(deps);
  let grpc: GrpcServer | undefined;
  let http: HttpListener | undefined;
  try {
    grpc = await startGrpcServer({
      address: config.grpc.address,
      port: config.grpc.port,
      maxReceiveMessageBytes: config.grpc.max_receive_message_bytes,
      maxSendMessageBytes: config.grpc.max_send_message_bytes,
      check: async (request) => (await check(request)).response,
      health,
    });
    http = await startHttpListener({ address: config.http.address, port: config.http.port, health, jwks: identity.runtime.jwks });
  } catch (err) {
    await grpc?.shutdown(0);
    policy.stop();
    throw err;
  }
  health.set(ServingStatus.SERVING);
  log.info({ grpc_port: grpc.port, http_port: http.port, policy_revision: policy.current()?.revision }, 'gatehouse serving');

  const grpcServer = grpc;
  const httpListener = http;
  let stopping: Promise<void> | undefined;
  return {
    grpcPort: grpcServer.port,
    httpPort: httpListener.port,
    health,
    policy,
    reload: async () => {
      await policy.reload();
    },
    stop() {
      stopping ??= (async () => {
        health.set(ServingStatus.NOT_SERVING);
        log.info({ drain_delay_ms: config.grpc.drain_delay_ms }, 'draining');
        if (config.grpc.drain_delay_ms > 0) await new Promise((r) => setTimeout(r, config.grpc.drain_delay_ms));
        await grpcServer.shutdown(config.grpc.shutdown_grace_ms);
        await httpListener.close();
        policy.stop();
        log.info('stopped');
      })();
      return stopping;
    },
  };
}
