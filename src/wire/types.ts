import type { CheckRequest, CheckResponse } from '../gen/envoy/service/auth/v3/external_auth_pb.js';
import type { TlsSource } from '../tls/reload.js';
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
  /** Bounds on connections, streams and slow peers; each defaults as in the config schema. */
  readonly limits?: Partial<GrpcListenerLimits>;
  /** Serve over TLS (and mTLS when it has a client CA) instead of cleartext. */
  readonly tls?: TlsSource | undefined;
  /** What the connection limits and the client-identity check did (for logs). */
  readonly onConnectionEvent?: (event: ConnectionEvent) => void;
}

/** Bounds that keep hostile or broken clients from starving Envoy (config `grpc.*`). */
export interface GrpcListenerLimits {
  /** HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS per connection; streams beyond it are refused (REFUSED_STREAM). */
  readonly maxConcurrentStreams: number;
  /** Open connections at most; at the limit the longest-idle session is closed for a new one. */
  readonly maxConnections: number;
  /** A connection with no open stream for this long is closed with GOAWAY (0: never). */
  readonly idleTimeoutMs: number;
  /** A request message must arrive completely within this long of its stream opening (0: no limit). */
  readonly messageReadTimeoutMs: number;
}

/** The defaults of {@link GrpcListenerLimits}, as in src/config/schema.ts. */
export const DEFAULT_GRPC_LIMITS: GrpcListenerLimits = Object.freeze({
  maxConcurrentStreams: 256,
  maxConnections: 1000,
  idleTimeoutMs: 60_000,
  messageReadTimeoutMs: 5_000,
});

/** A running gRPC server. */
export interface GrpcServer {
  /** The bound port (useful when 0 was asked for). */
  readonly port: number;
  /** Stop accepting, let in-flight calls finish within `graceMs`, then close. */
  shutdown(graceMs: number): Promise<void>;
}

/** What the connection guard (src/wire/http2/connections.ts) did, for logs and tests. */
export type ConnectionEvent =
  | { readonly type: 'idle-closed' }
  | { readonly type: 'evicted' }
  | { readonly type: 'refused' }
  /** A TLS client whose certificate chains to the CA but carries no allowed identity. */
  | { readonly type: 'unauthorized-client' };
