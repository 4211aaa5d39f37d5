/**
 * The one table of every error Gatehouse can produce.
 *
 * Each code maps to the gRPC status placed in `CheckResponse.status` and the HTTP status Envoy
 * sends to the client. Callers, tests and docs switch on the `code`, never on the message.
 * `docs/reference/errors.md` documents every row; a drift test keeps the two in step.
 */

/** gRPC status codes used by Gatehouse (google.rpc.Code). */
export const GrpcCode = {
  OK: 0,
  INVALID_ARGUMENT: 3,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
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
  ERR_REQUEST_INVALID: { grpc: GrpcCode.INVALID_ARGUMENT, http: 400, message: 'The request could not be parsed.' },
  ERR_PATH_INVALID: { grpc: GrpcCode.INVALID_ARGUMENT, http: 400, message: 'The request path is not valid.' },
  ERR_BODY_INVALID: { grpc: GrpcCode.INVALID_ARGUMENT, http: 400, message: 'The request body does not match its content type.' },
  // Policy evaluation.
  ERR_POLICY_NOT_LOADED: { grpc: GrpcCode.UNAVAILABLE, http: 503, message: 'No policy is loaded.' },
  ERR_POLICY_EVAL: { grpc: GrpcCode.INTERNAL, http: 500, message: 'The policy failed to evaluate.' },
  ERR_DECISION_UNDEFINED: { grpc: GrpcCode.PERMISSION_DENIED, http: 403, message: 'The policy made no decision.' },
  ERR_DECISION_INVALID: { grpc: GrpcCode.INTERNAL, http: 500, message: 'The policy decision has the wrong shape.' },
  // Policy loading (reported at start and on reload; never on the Check path).
  ERR_POLICY_LOAD: { grpc: GrpcCode.UNAVAILABLE, http: 503, message: 'The policy could not be loaded.' },
  ERR_POLICY_COMPILE: { grpc: GrpcCode.UNAVAILABLE, http: 503, message: 'The policy could not be compiled.' },
  ERR_POLICY_ENTRYPOINT: { grpc: GrpcCode.UNAVAILABLE, http: 503, message: 'The policy has no such entrypoint.' },
  ERR_POLICY_BUILTIN_MISSING: { grpc: GrpcCode.UNAVAILABLE, http: 503, message: 'The policy needs a builtin Gatehouse does not provide.' },
  // Configuration (start only).
  ERR_CONFIG_INVALID: { grpc: GrpcCode.INTERNAL, http: 500, message: 'The configuration is not valid.' },
  // Anything not foreseen: normalised at the boundary, fails closed.
  ERR_INTERNAL: { grpc: GrpcCode.INTERNAL, http: 500, message: 'Internal error.' },
} as const satisfies Record<string, ErrorSpec>;

/** Every stable error code. */
export type ErrorCode = keyof typeof ERRORS;

/** All codes, for drift tests and docs. */
export const ERROR_CODES = Object.freeze(Object.keys(ERRORS) as ErrorCode[]);
