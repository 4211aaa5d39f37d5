/** The validated, fully-defaulted, frozen configuration. Mirrors `schema.ts`. */
export interface Config {
  readonly grpc: {
    readonly address: string;
    readonly port: number;
    readonly max_receive_message_bytes: number;
    readonly max_send_message_bytes: number;
    readonly drain_delay_ms: number;
    readonly shutdown_grace_ms: number;
    readonly max_concurrent_streams: number;
    readonly max_connections: number;
    readonly idle_timeout_ms: number;
    readonly message_read_timeout_ms: number;
    readonly tls?: TlsConfig;
    readonly allow_cleartext: boolean;
  };
  readonly http: {
    readonly address: string;
    readonly port: number;
    readonly tls?: TlsConfig;
  };
  readonly policy: {
    readonly bundle?: string;
    readonly dir?: string;
    readonly entrypoint: string;
    readonly watch: boolean;
    readonly opa: string;
    /** Rego syntax of `dir`: `v0` compiles with `opa build --v0-compatible`. */
    readonly rego_version: 'v0' | 'v1';
  };
  /** Check server processes: 1 = this process only; N > 1 = a node:cluster of N workers; 0 = one per CPU. */
  readonly workers: number;
  readonly development: boolean;
  readonly identity?: {
    readonly issuer?: string;
    readonly client_id?: string;
    readonly client_secret?: string;
    readonly scopes: readonly string[];
    readonly groups_claim: string;
    readonly clock_tolerance_seconds: number;
    readonly bearer: {
      /** Resolved at validation: on when `audiences` is set unless configured otherwise. */
      readonly enabled: boolean;
      readonly audiences: readonly string[];
      readonly allow_untyped: boolean;
      readonly algorithms: readonly string[];
    };
    readonly sign_in_host?: string;
    readonly allowed_hosts: readonly string[];
    readonly post_logout_redirect_path: string;
    readonly timeout_ms: number;
    readonly discovery_timeout_ms: number;
    readonly cache_file?: string;
    readonly static_jwks_file?: string;
    readonly keys_max_age_seconds: number;
    readonly refresh_min_interval_seconds: number;
  };
  readonly session: {
    readonly cookie_name: string;
    readonly ttl_seconds: number;
    readonly bind_to_host: boolean;
    readonly secret?: string;
  };
  readonly keys: {
    readonly signing: readonly string[];
  };
  readonly headers: {
    readonly assertion: string;
    readonly user: string;
    readonly email: string;
    readonly groups: string;
    readonly assertion_issuer: string;
    readonly assertion_ttl_seconds: number;
  };
  readonly log: {
    readonly level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
    readonly sample_allowed: number;
    readonly include_query: boolean;
  };
  readonly tracing?: {
    readonly otlp_endpoint?: string;
    readonly service_name: string;
    readonly sample_ratio: number;
  };
  /** Device identity from client certificates; absent unless configured. */
  readonly device?: {
    readonly certificate: {
      readonly ca_file?: string;
      readonly require_client_auth: boolean;
    };
    readonly xfcc: {
      readonly trusted: boolean;
    };
  };
}

/** A listener's TLS (`grpc.tls`, `http.tls`); see src/tls/files.ts. */
export interface TlsConfig {
  readonly cert_file: string;
  readonly key_file: string;
  readonly client_ca_file?: string;
  readonly allowed_clients: readonly string[];
}
