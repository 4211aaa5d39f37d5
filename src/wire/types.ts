import type { CheckRequest, CheckResponse } from '../gen/envoy/service/auth/v3/external_auth_pb.js';
import type { HealthState } from './health.js';

/** What every gRPC transport needs to serve Gatehouse. */
export interface GrpcServerOptions {
  readonly address: string;
  readonly port: number;
  readonly maxReceiveMessageBytes: number;
  readonly maxSendMessageBytes: number;
  /** Answers a Check; must never reject (the Check handler turns every failure into a deny). */
  readonly check: (request: CheckRequest) => Promise<CheckResponse>;
  readonly health: HealthState;
}

/** A running gRPC server. */
export interface GrpcServer {
  /** The bound port (useful when 0 was asked for). */
  readonly port: number;
  /** Stop accepting, let in-flight calls finish within `graceMs`, then close. */
  shutdown(graceMs: number): Promise<void>;
}
