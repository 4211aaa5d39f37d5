/**
 * The configuration schema: every key Gatehouse accepts, its type, default and one-line
 * description. `validate.ts` walks it; `docs/reference/config.md` documents it and a drift test
 * keeps the two in step. Unknown keys are errors, never silently dropped.
 */

interface FieldBase {
  /** One line for the reference docs. */
  readonly doc: string;
}

export interface StringField extends FieldBase {
  readonly type: 'string';
  readonly default?: string;
  /** Resolve relative to the config file's folder. */
  readonly path?: boolean;
  readonly pattern?: RegExp;
  readonly patternDoc?: string;
  /** Required whenever its (optional) section is given; the validator names it when missing. */
  readonly required?: true;
}
export interface IntegerField extends FieldBase {
  readonly type: 'integer';
  readonly default?: number;
  readonly min: number;
  readonly max: number;
}
/** A decimal number (e.g. a ratio). */
export interface NumberField extends FieldBase {
  readonly type: 'number';
  readonly default?: number;
  readonly min: number;
  readonly max: number;
}
export interface BooleanField extends FieldBase {
  readonly type: 'boolean';
  readonly default?: boolean;
  /** No fixed default: when not given, the validator derives it from other keys. */
  readonly resolved?: true;
}
export interface EnumField extends FieldBase {
  readonly type: 'enum';
  readonly values: readonly string[];
  readonly default?: string;
}
export interface ObjectField extends FieldBase {
  readonly type: 'object';
  readonly fields: Readonly<Record<string, Field>>;
  /** When true the section is absent (undefined) unless given; its defaults apply only then. */
  readonly optional?: boolean;
}
/** A list of non-empty strings. */
export interface ListField extends FieldBase {
  readonly type: 'list';
  readonly default?: readonly string[];
  readonly path?: boolean;
  readonly pattern?: RegExp;
  readonly patternDoc?: string;
  readonly minItems?: number;
  /** Every item names a file that must be readable at start (checked by the validator). */
  readonly readable?: boolean;
}
/**
 * A secret: `{ file: PATH }` (read at start, trailing newline trimmed), `{ env: NAME }`, or a
 * literal string (discouraged: config files are often world-readable).
 */
export interface SecretField extends FieldBase {
  readonly type: 'secret';
}

export type Field =
  | StringField
  | IntegerField
  | NumberField
  | BooleanField
  | EnumField
  | ObjectField
  | ListField
  | SecretField;

const HEADER_NAME = /^[a-z0-9!#$%&'*+\-.^_`|~]+$/;
const HEADER_DOC = 'a lower-case HTTP header name';

const HOST = /^[A-Za-z0-9.:\-[\]]+$/;

/** A listener's TLS section (`grpc.tls`, `http.tls`). */
function tlsSection(listener: string) {
  return {
    type: 'object',
    optional: true,
    doc: `Serve the ${listener} listener over TLS; with \`client_ca_file\`, require client certificates (mTLS). The files are reloaded when they change.`,
    fields: {
      cert_file: {
        type: 'string',
        path: true,
        required: true,
        doc: 'PEM certificate chain (server certificate first).',
      },
      key_file: {
        type: 'string',
        path: true,
        required: true,
        doc: 'PEM private key of the certificate.',
      },
      client_ca_file: {
        type: 'string',
        path: true,
        doc: 'PEM CA bundle client certificates must chain to; setting it requires a client certificate (mTLS).',
      },
      allowed_clients: {
        type: 'list',
        default: [],
        pattern: /^\S+$/,
        patternDoc: 'a SPIFFE ID / URI SAN (with ://) or a subject common name / DNS SAN',
        doc: 'With client_ca_file: the client identities accepted, exact: a URI SAN such as a SPIFFE ID (spiffe://…), or a subject CN or DNS SAN. Empty: any certificate from the CA.',
      },
    },
  } as const satisfies ObjectField;
}

export const SCHEMA = {
  type: 'object',
  doc: 'Gatehouse configuration.',
  fields: {
    grpc: {
      type: 'object',
      doc: 'The gRPC listener Envoy calls: ext_authz v3 Check and grpc.health.v1.',
      fields: {
        address: {
          type: 'string',
          default: '127.0.0.1',
          pattern: HOST,
          patternDoc: 'a host name or IP address',
          doc: 'Address to bind. A non-loopback address needs grpc.tls, or grpc.allow_cleartext: true.',
        },
        port: {
          type: 'integer',
          default: 9191,
          min: 0,
          max: 65535,
          doc: 'Port to bind (0 picks a free port).',
        },
        max_receive_message_bytes: {
          type: 'integer',
          default: 4 * 1024 * 1024,
          min: 1024,
          max: 64 * 1024 * 1024,
          doc: 'Largest CheckRequest accepted; larger ones are refused with RESOURCE_EXHAUSTED (Envoy then denies).',
        },
        max_send_message_bytes: {
          type: 'integer',
          default: 4 * 1024 * 1024,
          min: 1024,
          max: 64 * 1024 * 1024,
          doc: 'Largest CheckResponse sent; a larger one is answered with RESOURCE_EXHAUSTED instead (Envoy then denies).',
        },
        drain_delay_ms: {
          type: 'integer',
          default: 3000,
          min: 0,
          max: 600_000,
          doc: "On SIGTERM: how long to keep answering Checks while health reports NOT_SERVING, before refusing new ones (long enough for Envoy's 1 s gRPC health check to notice).",
        },
        shutdown_grace_ms: {
          type: 'integer',
          default: 10_000,
          min: 0,
          max: 600_000,
          doc: 'On SIGTERM: how long in-flight Checks may take to finish before connections are closed.',
        },
        max_concurrent_streams: {
          type: 'integer',
          default: 256,
          min: 1,
          max: 65_535,
          doc: 'HTTP/2 streams (Checks in flight) per connection; more are refused with REFUSED_STREAM, which Envoy retries or spreads over another connection.',
        },
        max_connections: {
          type: 'integer',
          default: 1000,
          min: 1,
          max: 1_000_000,
          doc: 'Open connections per process; at the limit a new connection closes the longest-idle one, and is refused only when none is idle.',
        },
        idle_timeout_ms: {
          type: 'integer',
          default: 60_000,
          min: 0,
          max: 86_400_000,
          doc: 'A connection with no open stream (PINGs do not count) for this long is closed with GOAWAY; 0 never closes.',
        },
        tls: tlsSection('gRPC'),
        allow_cleartext: {
          type: 'boolean',
          default: false,
          doc: 'Allow a non-loopback grpc.address without grpc.tls: only where something else encrypts and authenticates the traffic (a mesh sidecar with mTLS).',
        },
        message_read_timeout_ms: {
          type: 'integer',
          default: 5000,
          min: 0,
          max: 600_000,
          doc: 'A request message must arrive completely within this long of its stream opening, else DEADLINE_EXCEEDED (half-sent messages); 0 waits forever.',
        },
      },
    },
    http: {
      type: 'object',
      doc: 'The HTTP listener for health, readiness, metrics and JWKS. Keep it off the public network.',
      fields: {
        address: {
          type: 'string',
          default: '127.0.0.1',
          pattern: HOST,
          patternDoc: 'a host name or IP address',
          doc: 'Address to bind.',
        },
        port: {
          type: 'integer',
          default: 9192,
          min: 0,
          max: 65535,
          doc: 'Port to bind (0 picks a free port).',
        },
        tls: tlsSection('HTTP'),
      },
    },
    policy: {
      type: 'object',
      doc: 'The Rego policy: a bundle built with `opa build -t wasm`, or a folder of .rego compiled with `opa` at start and on change. Exactly one of `bundle` and `dir`.',
      fields: {
        bundle: {
          type: 'string',
          path: true,
          doc: 'Path to bundle.tar.gz from `opa build -t wasm -e <entrypoint>`.',
        },
        dir: {
          type: 'string',
          path: true,
          doc: 'Folder of .rego files (`*_test.rego` ignored), compiled with the `opa` CLI.',
        },
        entrypoint: {
          type: 'string',
          default: 'envoy/authz/allow',
          pattern: /^[A-Za-z_][A-Za-z0-9_]*(\/[A-Za-z_][A-Za-z0-9_]*)*$/,
          patternDoc: 'a slash-separated rule path such as envoy/authz/allow',
          doc: 'The rule whose value is the decision.',
        },
        watch: {
          type: 'boolean',
          default: true,
          doc: 'Reload when the bundle or a .rego file changes (SIGHUP always reloads).',
        },
        opa: {
          type: 'string',
          default: 'opa',
          doc: 'The `opa` binary used to compile `dir` (a path, or a name looked up on PATH).',
        },
        rego_version: {
          type: 'enum',
          values: ['v0', 'v1'],
          default: 'v1',
          doc: 'Rego syntax of `dir`: v1 (OPA 1.x), or v0 for pre-1.0 policies (`opa build --v0-compatible`, as the OPA-Envoy plugin runs them).',
        },
      },
    },
    workers: {
      type: 'integer',
      default: 1,
      min: 0,
      max: 256,
      doc: 'Check server processes: 1 serves from this process; N > 1 forks N workers (node:cluster) sharing the gRPC port, with health, readiness and metrics answered by the primary; 0 means one per available CPU. Needs a restart to change.',
    },
    development: {
      type: 'boolean',
      default: false,
      doc: 'Development mode: allows a generated signing key and session secret (sessions do not survive a restart) and an http:// identity provider on loopback. Never in production.',
    },
    identity: {
      type: 'object',
      optional: true,
      doc: 'Who is asking: sign-in through an OIDC identity provider (sessions) and bearer JWTs. Without this section every caller is anonymous.',
      fields: {
        issuer: {
          type: 'string',
          required: true,
          pattern: /^https?:\/\/[^\s]+$/,
          patternDoc:
            'an http(s) URL (the OIDC issuer; discovery at /.well-known/openid-configuration)',
          doc: "The identity provider's issuer URL, exactly as in its discovery document.",
        },
        client_id: {
          type: 'string',
          required: true,
          doc: "Gatehouse's client id at the identity provider.",
        },
        client_secret: {
          type: 'secret',
          doc: "Gatehouse's client secret: `{file: PATH}`, `{env: NAME}` or a string.",
        },
        scopes: {
          type: 'list',
          default: ['openid', 'email', 'profile', 'offline_access'],
          doc: 'Scopes requested at sign-in (`openid` is required; `offline_access` asks for a refresh token).',
        },
        groups_claim: {
          type: 'string',
          default: 'groups',
          doc: "The claim holding the user's groups (a dotted path such as `realm_access.roles` is allowed).",
        },
        clock_tolerance_seconds: {
          type: 'integer',
          default: 30,
          min: 0,
          max: 300,
          doc: 'Allowed clock skew when checking exp, nbf and iat.',
        },
        verified_cache_entries: {
          type: 'integer',
          default: 10000,
          min: 0,
          max: 1000000,
          doc: 'Verified bearer tokens kept per process (LRU; 0 turns the cache off; sessions use the session-store cache). About 1 KB each: docs/performance.md.',
        },
        bearer: {
          type: 'object',
          doc: 'API clients: `Authorization: Bearer <JWT>` issued by the identity provider, verified against its JWKS.',
          fields: {
            enabled: {
              type: 'boolean',
              resolved: true,
              doc: 'Accept bearer tokens. Default: on when `audiences` is set, off otherwise; `true` without `audiences` refuses to start.',
            },
            audiences: {
              type: 'list',
              default: [],
              doc: "Accepted `aud` values: your API's own audience (resource indicator) at the IdP, never the client id (that is the ID token's audience). Required for bearer tokens.",
            },
            allow_untyped: {
              type: 'boolean',
              default: false,
              doc: "Also accept access tokens whose header has no `typ` or `typ: JWT` (IdPs that do not issue RFC 9068 `at+jwt`). ID tokens, logout tokens and Gatehouse's own tokens stay refused.",
            },
            algorithms: {
              type: 'list',
              default: ['RS256', 'ES256', 'PS256', 'EdDSA'],
              pattern: /^(RS|PS|ES)(256|384|512)$|^EdDSA$/,
              patternDoc: 'an asymmetric JWS algorithm (RS*, PS*, ES*, EdDSA)',
              doc: 'Accepted signature algorithms (asymmetric only).',
            },
          },
        },
        backchannel_logout: {
          type: 'object',
          doc: 'OIDC Back-Channel Logout 1.0 at `/.gatehouse/backchannel_logout`: how logout tokens are checked (signed with the IdP keys and `identity.bearer.algorithms`).',
          fields: {
            max_age_seconds: {
              type: 'integer',
              default: 300,
              min: 30,
              max: 3600,
              doc: 'Oldest `iat` accepted, in seconds before now; also how long a `jti` is remembered.',
            },
            require_typ: {
              type: 'boolean',
              default: false,
              doc: 'Require the header `typ: logout+jwt` (the spec lets IdPs leave it out).',
            },
          },
        },
        sign_in_host: {
          type: 'string',
          pattern: /^[a-z0-9.-]+(:\d+)?$/,
          patternDoc: 'a host name (optionally :port)',
          doc: 'Central sign-in host: the one redirect URI registered at the IdP is https://<sign_in_host>/.gatehouse/callback; other hosts hand off through it.',
        },
        allowed_hosts: {
          type: 'list',
          default: [],
          pattern: /^(\*\.)?[a-z0-9.-]+(:\d+)?$/,
          patternDoc: 'a host name, optionally starting with *.',
          doc: 'Hosts the central sign-in host may hand a session to, and post-logout redirects may go to (`*.example.com` allowed).',
        },
        post_logout_redirect_path: {
          type: 'string',
          default: '/.gatehouse/signed_out',
          pattern: /^\/[^\s]*$/,
          patternDoc: 'a path starting with /',
          doc: 'Where the IdP sends the user after sign-out (on the same host; register it at the IdP).',
        },
        timeout_ms: {
          type: 'integer',
          default: 300,
          min: 50,
          max: 60_000,
          doc: "Timeout of each IdP call a Check waits for (code exchange, refresh, JWKS on an unknown kid); keep it below Envoy's ext_authz timeout so a slow IdP gets Gatehouse's own page.",
        },
        discovery_timeout_ms: {
          type: 'integer',
          default: 5000,
          min: 100,
          max: 60_000,
          doc: 'Timeout of background IdP calls no Check waits for: discovery and the periodic JWKS refresh.',
        },
        cache_file: {
          type: 'string',
          path: true,
          doc: 'File keeping the last good discovery document and JWKS (written atomically, mode 0600), read at start so bearer tokens verify while the IdP is down.',
        },
        static_jwks_file: {
          type: 'string',
          path: true,
          doc: "A JWKS file of the IdP's public keys, read at start: used for bearer tokens whenever no fetched or cached keys are usable (no age limit; keep it current).",
        },
        keys_max_age_seconds: {
          type: 'integer',
          default: 86_400,
          min: 60,
          max: 30 * 86_400,
          doc: 'Longest the last good IdP keys (from the IdP or cache_file) are used after they were fetched, while the IdP cannot be reached.',
        },
        refresh_min_interval_seconds: {
          type: 'integer',
          default: 60,
          min: 1,
          max: 3600,
          doc: 'Least time between two refresh grants for the same session on one replica; meanwhile the last outcome is reused.',
        },
      },
    },
    session: {
      type: 'object',
      doc: 'Browser sessions: a signed (and encrypted, when it holds tokens) JWT in a cookie.',
      fields: {
        cookie_name: {
          type: 'string',
          default: '__Host-gatehouse',
          pattern: /^__Host-[A-Za-z0-9_-]+$/,
          patternDoc: 'a cookie name starting with __Host-',
          doc: 'The session cookie (Secure, HttpOnly, SameSite=Lax, Path=/).',
        },
        ttl_seconds: {
          type: 'integer',
          default: 8 * 3600,
          min: 60,
          max: 30 * 24 * 3600,
          doc: 'Session lifetime; with a refresh token it is renewed at expiry.',
        },
        absolute_lifetime_seconds: {
          type: 'integer',
          default: 7 * 24 * 3600,
          min: 60,
          max: 90 * 24 * 3600,
          doc: 'No session outlives this after sign-in, refreshed or not: the store forgets the record and the cookie stops working.',
        },
        idle_timeout_seconds: {
          type: 'integer',
          default: 0,
          min: 0,
          max: 30 * 24 * 3600,
          doc: 'A session with no request for this long ends (server-side, on every replica); 0 turns it off.',
        },
        revalidate_interval_seconds: {
          type: 'integer',
          default: 300,
          min: 0,
          max: 30 * 24 * 3600,
          doc: 'How often a live session is re-validated at the IdP (refresh-token grant, else UserInfo): a user disabled there loses access within one interval; 0 turns it off.',
        },
        revalidate_grace_seconds: {
          type: 'integer',
          default: 900,
          min: 0,
          max: 24 * 3600,
          doc: 'While the IdP cannot be reached, a session due for re-validation keeps working this long past its due time; then it is denied (503) until the IdP answers.',
        },
        bind_to_host: {
          type: 'boolean',
          default: true,
          doc: 'Accept a session only on the host it was issued for (a cookie copied to another host behind the same Gatehouse is refused). Turn off only if hosts share sessions on purpose.',
        },
        secret: {
          type: 'secret',
          doc: 'At least 32 random bytes (base64url) encrypting session and sign-in cookies: `{file: PATH}`, `{env: NAME}`. Generated in development mode only.',
        },
        store: {
          type: 'object',
          doc: 'Where server-side session records live (shared by replicas with `redis`); see docs/reference/session-store.md.',
          fields: {
            kind: {
              type: 'enum',
              values: ['memory', 'redis'],
              default: 'memory',
              doc: '`memory`: this process only (all its workers); `redis`: Redis or Valkey (standalone), shared by every replica.',
            },
            url: {
              type: 'secret',
              doc: '`redis://` or `rediss://` (TLS) URL of the store, may hold user and password: `{file: PATH}`, `{env: NAME}`. Required with `kind: redis`.',
            },
            username: {
              type: 'string',
              doc: 'ACL user name (overrides the URL’s).',
            },
            password: {
              type: 'secret',
              doc: 'ACL password (overrides the URL’s): `{file: PATH}`, `{env: NAME}`.',
            },
            tls: {
              type: 'object',
              optional: true,
              doc: 'TLS to the store (needs a `rediss://` URL).',
              fields: {
                ca_file: {
                  type: 'string',
                  path: true,
                  doc: 'PEM file of the CA(s) that sign the server certificate (default: the system CAs).',
                },
                server_name: {
                  type: 'string',
                  doc: 'Name the server certificate must carry, when it differs from the URL host.',
                },
              },
            },
            key_prefix: {
              type: 'string',
              default: 'gatehouse:',
              pattern: /^[A-Za-z0-9:_.-]{1,64}$/,
              patternDoc: 'letters, digits and :_.- (at most 64)',
              doc: 'Prefix of every key and of the change channel (several Gatehouse deployments may share one Redis).',
            },
            cache_size: {
              type: 'integer',
              default: 10_000,
              min: 0,
              max: 1_000_000,
              doc: 'Sessions each replica keeps in its local cache (LRU, invalidated by the change feed); 0 asks the store on every request.',
            },
            cache_max_age_ms: {
              type: 'integer',
              default: 60_000,
              min: 1000,
              max: 3_600_000,
              doc: 'Longest a replica serves a cached session before reading it again from the store: bounds how long a change the feed lost (a silently dead connection) can go unseen.',
            },
            stale_window_ms: {
              type: 'integer',
              default: 5000,
              min: 0,
              max: 300_000,
              doc: 'While the store is unreachable, cached sessions keep working this long; then requests that need the store are denied.',
            },
            command_timeout_ms: {
              type: 'integer',
              default: 1000,
              min: 50,
              max: 30_000,
              doc: 'Bound on each store command (`redis`).',
            },
            connect_timeout_ms: {
              type: 'integer',
              default: 2000,
              min: 100,
              max: 60_000,
              doc: 'Bound on connecting to the store at start and on each reconnect attempt (`redis`).',
            },
          },
        },
      },
    },
    keys: {
      type: 'object',
      doc: "Gatehouse's own signing keys (sessions, identity assertions), published at /.well-known/gatehouse/jwks.json.",
      fields: {
        signing: {
          type: 'list',
          default: [],
          path: true,
          readable: true,
          doc: 'Private key files (PKCS#8 PEM or JWK): the first signs, all are published. Generated at start in development mode only.',
        },
      },
    },
    headers: {
      type: 'object',
      doc: 'Identity headers added for the upstream on allow (client-supplied copies are always removed).',
      fields: {
        assertion: {
          type: 'string',
          default: 'x-gatehouse-jwt-assertion',
          pattern: HEADER_NAME,
          patternDoc: HEADER_DOC,
          doc: 'The signed identity assertion (JWT).',
        },
        user: {
          type: 'string',
          default: 'x-gatehouse-user',
          pattern: HEADER_NAME,
          patternDoc: HEADER_DOC,
          doc: "The user's `sub`.",
        },
        email: {
          type: 'string',
          default: 'x-gatehouse-email',
          pattern: HEADER_NAME,
          patternDoc: HEADER_DOC,
          doc: "The user's email.",
        },
        groups: {
          type: 'string',
          default: 'x-gatehouse-groups',
          pattern: HEADER_NAME,
          patternDoc: HEADER_DOC,
          doc: 'The user\'s groups, an RFC 8941 List of Strings (`"admins", "staff"`); the assertion JWT is the source of truth.',
        },
        assertion_issuer: {
          type: 'string',
          default: 'gatehouse',
          doc: 'The `iss` of assertion JWTs.',
        },
        assertion_ttl_seconds: {
          type: 'integer',
          default: 300,
          min: 10,
          max: 3600,
          doc: 'Lifetime of an assertion JWT.',
        },
        assertion_cache_entries: {
          type: 'integer',
          default: 10000,
          min: 0,
          max: 1000000,
          doc: 'Signed assertions kept for reuse per process, by asserted identity and host (LRU; 0 signs one per allowed Check). About 1 KB each: docs/performance.md.',
        },
        assertion_skip_hosts: {
          type: 'list',
          default: [],
          pattern: /^(\*\.)?[a-z0-9.-]+(:\d+)?$/,
          patternDoc: 'a host name, optionally starting with *.',
          doc: 'Hosts whose upstreams do not read the assertion: none is signed for them (the other identity headers are still set; client copies of every identity header are still removed). Saves a signing per new identity: docs/performance.md.',
        },
      },
    },
    log: {
      type: 'object',
      doc: 'Logging (pino JSON lines on stdout).',
      fields: {
        level: {
          type: 'enum',
          values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
          default: 'info',
          doc: 'Minimum level written (reloadable on SIGHUP). At debug, decision lines also carry the policy input, redacted.',
        },
        sample_allowed: {
          type: 'number',
          default: 1,
          min: 0,
          max: 1,
          doc: 'Fraction of ALLOWED decisions written to the decision log (0 to 1); denies and errors are always written (reloadable on SIGHUP).',
        },
        include_query: {
          type: 'boolean',
          default: false,
          doc: 'Keep the query string in the decision log `path` (values of credential-like parameters stay redacted; reloadable on SIGHUP).',
        },
      },
    },
    tracing: {
      type: 'object',
      optional: true,
      doc: 'OpenTelemetry spans exported over OTLP/HTTP. Without this section no OpenTelemetry SDK is loaded; W3C traceparent ids still reach the decision log.',
      fields: {
        otlp_endpoint: {
          type: 'string',
          required: true,
          pattern: /^https?:\/\/[^\s]+$/,
          patternDoc:
            'an http(s) URL (the OTLP/HTTP traces endpoint, e.g. http://collector:4318/v1/traces)',
          doc: 'The OTLP/HTTP traces endpoint (JSON encoding), e.g. `http://otel-collector:4318/v1/traces`.',
        },
        service_name: {
          type: 'string',
          default: 'gatehouse',
          doc: 'The `service.name` resource attribute.',
        },
        sample_ratio: {
          type: 'number',
          default: 1,
          min: 0,
          max: 1,
          doc: 'Fraction of new traces recorded; a sampled/unsampled traceparent from Envoy is followed.',
        },
      },
    },
    device: {
      type: 'object',
      optional: true,
      doc: 'Device identity from client certificates (`input.device`, docs/devices.md). Without this section `input.device` is absent.',
      fields: {
        webauthn: {
          type: 'object',
          optional: true,
          doc: 'Enrolled devices: users register a WebAuthn authenticator (platform or security key) at /.gatehouse/devices; a policy may then require a proof of possession.',
          fields: {
            rp_id: {
              type: 'string',
              required: true,
              pattern: /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/,
              patternDoc: 'a lower-case domain name (the RP ID), e.g. example.com',
              doc: 'The WebAuthn RP ID: a domain every origin is or is under (e.g. `example.com`). Credentials are scoped to it; changing it orphans every enrolled device.',
            },
            rp_name: {
              type: 'string',
              default: 'Gatehouse',
              doc: 'The relying party name the browser shows during registration.',
            },
            origins: {
              type: 'list',
              default: [],
              pattern: /^https?:\/\/[a-z0-9.-]+(:[0-9]{1,5})?$/,
              patternDoc: 'an origin: https://host[:port], no path',
              doc: 'Exact origins enrollment and proofs may happen on (`https://app.example.com`); each host is the RP ID or under it. `http://` only in development mode.',
            },
            attestation: {
              type: 'object',
              doc: 'Which authenticators may enroll.',
              fields: {
                formats: {
                  type: 'list',
                  default: ['none', 'packed', 'tpm', 'android-key', 'apple', 'fido-u2f'],
                  pattern: /^(none|packed|tpm|android-key|android-safetynet|fido-u2f|apple)$/,
                  patternDoc:
                    'an attestation format: none, packed, tpm, android-key, android-safetynet, fido-u2f, apple',
                  doc: 'Attestation statement formats accepted at registration; `none` accepts unattested authenticators. Attestation is requested from the browser only when a format other than `none` is listed.',
                },
                aaguids: {
                  type: 'list',
                  default: [],
                  pattern:
                    /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/,
                  patternDoc: 'an AAGUID (a UUID)',
                  doc: 'Authenticator models (AAGUIDs) accepted; empty: any. Without certificate-chain attestation (e.g. with `none` or self attestation) the AAGUID is what the authenticator claims.',
                },
              },
            },
            require_user_verification: {
              type: 'boolean',
              default: true,
              doc: 'Require user verification (PIN, biometrics) at registration and at every proof; `false`: preferred only.',
            },
            operator_approval: {
              type: 'boolean',
              default: false,
              doc: 'New devices stay pending, and cannot prove possession, until an operator approves them.',
            },
            challenge_ttl_seconds: {
              type: 'integer',
              default: 300,
              min: 30,
              max: 600,
              doc: 'How long a registration or proof challenge may be answered; each is single-use.',
            },
            proof_interval_seconds: {
              type: 'integer',
              default: 3600,
              min: 60,
              max: 30 * 24 * 3600,
              doc: 'How often a device-bound session must prove possession again.',
            },
          },
        },
        certificate: {
          type: 'object',
          doc: 'The client certificate Envoy terminated mutual TLS with.',
          fields: {
            ca_file: {
              type: 'string',
              path: true,
              doc: 'PEM bundle of device CAs (each a trust anchor). When set, Gatehouse verifies every client certificate against it itself; one that fails is refused.',
            },
            require_client_auth: {
              type: 'boolean',
              default: true,
              doc: 'With `ca_file`: the certificate must list clientAuth in its extended key usage.',
            },
            bind_sessions: {
              type: 'boolean',
              default: false,
              doc: 'Bind a session to the client certificate it signed in with: the cookie is refused without that certificate (`ERR_SESSION_DEVICE_MISMATCH`).',
            },
          },
        },
        xfcc: {
          type: 'object',
          doc: 'The `x-forwarded-client-cert` header (a mesh or a proxy in front).',
          fields: {
            trusted: {
              type: 'boolean',
              default: false,
              doc: 'Read the device certificate from the header when Envoy sent no peer certificate. Only when the proxy calling Gatehouse sets it (`SANITIZE_SET`).',
            },
          },
        },
      },
    },
  },
} as const satisfies ObjectField;
