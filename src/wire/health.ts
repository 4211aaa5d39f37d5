import { EventEmitter } from 'node:events';
import { HealthCheckResponse_ServingStatus as ServingStatus } from '../gen/grpc/health/v1/health_pb.js';

export { ServingStatus };

/** The service names `grpc.health.v1.Health` answers for: the server as a whole, and Check. */
export const HEALTH_SERVICES: readonly string[] = Object.freeze([
  '',
  'envoy.service.auth.v3.Authorization',
]);

/**
 * Serving status shared by the gRPC health service and the HTTP readiness endpoint. One status
 * for every known service: Gatehouse serves Check exactly when it is ready as a whole.
 */
export class HealthState {
  readonly #events = new EventEmitter();
  #status: ServingStatus = ServingStatus.NOT_SERVING;

  constructor() {
    // Every Watch stream adds a listener; many health checkers are normal, not a leak.
    this.#events.setMaxListeners(0);
  }

  /** The status of `service`, or `undefined` for a service Gatehouse does not have. */
  status(service: string): ServingStatus | undefined {
    return HEALTH_SERVICES.includes(service) ? this.#status : undefined;
  }

  /** Change the status; Watch streams hear of it at once. */
  set(status: ServingStatus): void {
    if (status === this.#status) return;
    this.#status = status;
    this.#events.emit('change', status);
  }

  /** Listen for changes; returns the function that stops listening. */
  onChange(listener: (status: ServingStatus) => void): () => void {
    this.#events.on('change', listener);
    return () => this.#events.off('change', listener);
  }
}
