/**
 * The one table of every error Gatehouse can produce.
 *
 * Each code maps to the gRPC status placed in `CheckResponse.status` and the HTTP status Envoy
 * sends to the client. Callers, tests and docs switch on the `code`, never on the message.
 * `docs/reference/errors.md` documents every row; a drift test keeps the two in step.
 */

/** gRPC status codes used by Gatehouse (google.rpc.Code): in CheckResponses and on the wire. */
export const GrpcCode = {
  OK: 0,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;
export type GrpcCode = (typeof GrpcCode)[keyof typeof GrpcCode];

/** What a coded error means on the wire. */
export interface ErrorSpec {
  /** gRPC status in `CheckResponse.status`. */
  readonly grpc: GrpcCode;
  /** HTTP status in `DeniedHttpResponse.status`. */
  readonly http: number;
  /** Fixed, non-leaking message; details go to `cause` and the log only. */
  readonly message: string;
}

export const ERRORS = {
  // Requests Envoy sent that cannot be turned into a policy input.
  ERR_REQUEST_INVALID: {
    grpc: GrpcCode.INVALID_ARGUMENT,
    http: 400,
    message: 'The request could not be parsed.',
  },
  ERR_PATH_INVALID: {
    grpc: GrpcCode.INVALID_ARGUMENT,
    http: 400,
    message: 'The request path is not valid.',
  },
  ERR_PATH_NOT_NORMAL: {
    grpc: GrpcCode.INVALID_ARGUMENT,
    http: 400,
    message: 'The request path is not in normal form.',
  },
  ERR_BODY_INVALID: {
    grpc: GrpcCode.INVALID_ARGUMENT,
    http: 400,
    message: 'The request body does not match its content type.',
  },
  ERR_COOKIE_AMBIGUOUS: {
    grpc: GrpcCode.INVALID_ARGUMENT,
    http: 400,
    message: 'The request cookies are ambiguous.',
  },
  // Policy evaluation.
  ERR_POLICY_NOT_LOADED: { grpc: GrpcCode.UNAVAILABLE, http: 503, message: 'No policy is loaded.' },
  ERR_POLICY_EVAL: {
    grpc: GrpcCode.INTERNAL,
    http: 500,
    message: 'The policy failed to evaluate.',
  },
  ERR_DECISION_UNDEFINED: {
    grpc: GrpcCode.PERMISSION_DENIED,
    http: 403,
    message: 'The policy made no decision.',
  },
  ERR_DECISION_INVALID: {
    grpc: GrpcCode.INTERNAL,
    http: 500,
    message: 'The policy decision has the wrong shape.',
  },
  // Policy loading (reported at start and on reload; never on the Check path).
  ERR_POLICY_LOAD: {
    grpc: GrpcCode.UNAVAILABLE,
    http: 503,
    message: 'The policy could not be loaded.',
  },
  ERR_POLICY_COMPILE: {
    grpc: GrpcCode.UNAVAILABLE,
    http: 503,
    message: 'The policy could not be compiled.',
  },
  ERR_POLICY_ENTRYPOINT: {
    grpc: GrpcCode.UNAVAILABLE,
    http: 503,
    message: 'The policy has no such entrypoint.',
  },
  ERR_POLICY_BUILTIN_MISSING: {
    grpc: GrpcCode.UNAVAILABLE,
    http: 503,
    message: 'The policy needs a builtin Gatehouse does not provide.',
  },
  // Identity: the session cookie and bearer tokens. A failure makes the caller anonymous; the
  // policy still decides, and an unauthenticated deny starts sign-in (browser) or answers 401.
  ERR_SESSION_INVALID: {
    grpc: GrpcCode.UNAUTHENTICATED,
    http: 401,
    message: 'The session is not valid.',
  },
  ERR_SESSION_HOST_MISMATCH: {
    grpc: GrpcCode.UNAUTHENTICATED,
    http: 401,
    message: 'The session was issued for another host.',
  },
  ERR_SESSION_DEVICE_MISMATCH: {
    grpc: GrpcCode.UNAUTHENTICATED,
    http: 401,
    message: 'The session is bound to another device certificate.',
  },
  ERR_SESSION_EXPIRED: {
    grpc: GrpcCode.UNAUTHENTICATED,
    http: 401,
    message: 'The session has expired.',
  },
  ERR_SESSION_REVOKED: {
    grpc: GrpcCode.UNAUTHENTICATED,
    http: 401,
    message: 'The session was ended.',
  },
  ERR_SESSION_TOO_LARGE: {
    grpc: GrpcCode.INTERNAL,
    http: 500,
    message: 'The session does not fit in a cookie.',
  },
  ERR_SESSION_STORE_UNAVAILABLE: {
    grpc: GrpcCode.UNAVAILABLE,
    http: 503,
    message: 'The session store is unavailable.',
  },
  ERR_SESSION_RECORD_INVALID: {
    grpc: GrpcCode.UNAUTHENTICATED,
    http: 401,
    message: 'The session is not valid.',
  },
  ERR_TOKEN_INVALID: {
    grpc: GrpcCode.UNAUTHENTICATED,
    http: 401,
    message: 'The bearer token is not valid.',
  },
  ERR_TOKEN_EXPIRED: {
    grpc: GrpcCode.UNAUTHENTICATED,
    http: 401,
    message: 'The bearer token has expired.',
  },
  ERR_JWKS_UNAVAILABLE: {
    grpc: GrpcCode.UNAVAILABLE,
    http: 503,
    message: "The identity provider's keys could not be fetched.",
  },
  // Signing keys and the session secret (start only).
  ERR_KEYS_INVALID: {
    grpc: GrpcCode.INTERNAL,
    http: 500,
    message: 'The signing keys or session secret are not valid.',
  },
  // Configuration (start only).
  ERR_CONFIG_INVALID: {
    grpc: GrpcCode.INTERNAL,
    http: 500,
    message: 'The configuration is not valid.',
  },
  // OIDC sign-in, callback, refresh, sign-out and the central-host hand-off (src/oidc).
  ERR_OIDC_TXN_MISSING: {
    grpc: GrpcCode.UNAUTHENTICATED,
    http: 401,
    message: 'The sign-in transaction was not found; start again.',
  },
  ERR_OIDC_TXN_EXPIRED: {
    grpc: GrpcCode.UNAUTHENTICATED,
    http: 401,
    message: 'The sign-in transaction expired; start again.',
  },
  ERR_OIDC_TXN_INVALID: {
    grpc: GrpcCode.UNAUTHENTICATED,
    http: 401,
    message: 'The sign-in transaction is not valid; start again.',
  },
  ERR_OIDC_STATE_MISMATCH: {
    grpc: GrpcCode.UNAUTHENTICATED,
    http: 401,
    message: 'The sign-in response does not belong to this transaction.',
  },
  ERR_OIDC_STATE_REPLAYED: {
    grpc: GrpcCode.UNAUTHENTICATED,
    http: 401,
    message: 'The sign-in response was already used.',
  },
  ERR_OIDC_ISSUER_MISMATCH: {
    grpc: GrpcCode.UNAUTHENTICATED,
    http: 401,
    message: 'The sign-in response comes from an unexpected issuer.',
  },
  ERR_OIDC_NONCE_MISMATCH: {
    grpc: GrpcCode.UNAUTHENTICATED,
    http: 401,
    message: 'The ID token does not belong to this transaction.',
  },
  // Step-up (a decision's max_auth_age_seconds / acr_values).
  ERR_STEP_UP_REQUIRED: {
    grpc: GrpcCode.UNAUTHENTICATED,
    http: 401,
    message: 'This request needs a more recent or stronger authentication.',
  },
  ERR_STEP_UP_NOT_SATISFIED: {
    grpc: GrpcCode.UNAUTHENTICATED,
    http: 401,
    message: 'The identity provider did not perform the authentication this request needs.',
  },
  ERR_STEP_UP_USER_CHANGED: {
    grpc: GrpcCode.UNAUTHENTICATED,
    http: 401,
    message: 'A different user signed in while re-authenticating.',
  },
  ERR_OIDC_ID_TOKEN_INVALID: {
    grpc: GrpcCode.UNAUTHENTICATED,
    http: 401,
    message: 'The ID token is not valid.',
  },
  ERR_OIDC_PROVIDER_ERROR: {
    grpc: GrpcCode.UNAUTHENTICATED,
    http: 401,
    message: 'The identity provider did not sign the user in.',
  },
  ERR_OIDC_EXCHANGE: {
    grpc: GrpcCode.UNAUTHENTICATED,
    http: 401,
    message: 'The authorization code could not be exchanged.',
  },
  ERR_OIDC_REFRESH_FAILED: {
    grpc: GrpcCode.UNAUTHENTICATED,
    http: 401,
    message: 'The session could not be refreshed; sign in again.',
  },
  ERR_OIDC_USERINFO_FAILED: {
    grpc: GrpcCode.UNAUTHENTICATED,
    http: 401,
    message: 'The identity provider no longer vouches for this session; sign in again.',
  },
  ERR_OIDC_UNAVAILABLE: {
    grpc: GrpcCode.UNAVAILABLE,
    http: 503,
    message: 'The identity provider is unavailable.',
  },
  ERR_RETURN_URL_INVALID: {
    grpc: GrpcCode.INVALID_ARGUMENT,
    http: 400,
    message: 'The return URL is not allowed.',
  },
  ERR_HANDOFF_INVALID: {
    grpc: GrpcCode.UNAUTHENTICATED,
    http: 401,
    message: 'The sign-in hand-off is not valid.',
  },
  ERR_HANDOFF_REPLAYED: {
    grpc: GrpcCode.UNAUTHENTICATED,
    http: 401,
    message: 'The sign-in hand-off was already used.',
  },
  ERR_SIGN_OUT_FORBIDDEN: {
    grpc: GrpcCode.PERMISSION_DENIED,
    http: 403,
    message: 'Sign-out must be requested from this site.',
  },
  // Device certificates (src/device). A refused certificate is left out of input.device (its code
  // in input.device.certificate_error); the policy still decides, so these never answer a Check.
  ERR_DEVICE_CERT_INVALID: {
    grpc: GrpcCode.UNAUTHENTICATED,
    http: 401,
    message: 'The client certificate could not be read.',
  },
  ERR_DEVICE_CERT_UNTRUSTED: {
    grpc: GrpcCode.UNAUTHENTICATED,
    http: 401,
    message: 'The client certificate is not from a device CA.',
  },
  ERR_DEVICE_CERT_EXPIRED: {
    grpc: GrpcCode.UNAUTHENTICATED,
    http: 401,
    message: 'The client certificate has expired.',
  },
  ERR_DEVICE_CERT_NOT_YET_VALID: {
    grpc: GrpcCode.UNAUTHENTICATED,
    http: 401,
    message: 'The client certificate is not valid yet.',
  },
  ERR_DEVICE_CERT_USAGE: {
    grpc: GrpcCode.UNAUTHENTICATED,
    http: 401,
    message: 'The client certificate is not for client authentication.',
  },
  ERR_LOGOUT_TOKEN_INVALID: {
    grpc: GrpcCode.INVALID_ARGUMENT,
    http: 400,
    message: 'The logout token is not valid.',
  },
  ERR_LOGOUT_TOKEN_REPLAYED: {
    grpc: GrpcCode.INVALID_ARGUMENT,
    http: 400,
    message: 'The logout token was already used.',
  },
  // Anything not foreseen: normalised at the boundary, fails closed.
  // Enrolled devices (WebAuthn).
  ERR_DEVICE_CHALLENGE_INVALID: {
    grpc: GrpcCode.PERMISSION_DENIED,
    http: 403,
    message: 'The device challenge is unknown, expired or already used.',
  },
  ERR_DEVICE_PROOF_INVALID: {
    grpc: GrpcCode.PERMISSION_DENIED,
    http: 403,
    message: 'The device response could not be verified.',
  },
  ERR_DEVICE_NOT_ALLOWED: {
    grpc: GrpcCode.PERMISSION_DENIED,
    http: 403,
    message: 'This device is not allowed by the device policy.',
  },
  ERR_DEVICE_COUNTER_REGRESSION: {
    grpc: GrpcCode.PERMISSION_DENIED,
    http: 403,
    message: 'The device signature counter went backwards.',
  },
  ERR_DEVICE_UNKNOWN: {
    grpc: GrpcCode.PERMISSION_DENIED,
    http: 403,
    message: 'The device is not enrolled, not approved or revoked.',
  },
  ERR_DEVICE_PROOF_REQUIRED: {
    grpc: GrpcCode.UNAUTHENTICATED,
    http: 401,
    message: 'This request needs a recent proof of possession of an enrolled device.',
  },
  ERR_INTERNAL: { grpc: GrpcCode.INTERNAL, http: 500, message: 'Internal error.' },
} as const satisfies Record<string, ErrorSpec>;

/** Every stable error code. */
export type ErrorCode = keyof typeof ERRORS;

/** All codes, for drift tests and docs. */
export const ERROR_CODES = Object.freeze(Object.keys(ERRORS) as ErrorCode[]);
