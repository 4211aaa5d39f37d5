import { ERRORS, type ErrorCode, type ErrorSpec } from './codes.js';

/**
 * An error with a stable `code`. Its `message` is fixed per code and safe to show; the
 * detail that explains it lives in `cause` and reaches the log only.
 *
 * @example
 *   throw new GatehouseError('ERR_BODY_INVALID', { cause: err });
 */
export class GatehouseError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, options?: { cause?: unknown; message?: string }) {
    super(
      options?.message ?? ERRORS[code].message,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'GatehouseError';
    this.code = code;
  }

  /** The wire statuses of this error. */
  get spec(): ErrorSpec {
    return ERRORS[this.code];
  }

  /**
   * Normalise anything thrown into a GatehouseError, failing closed: an unknown value becomes
   * `ERR_INTERNAL` with the original kept as `cause`.
   */
  static from(value: unknown, fallback: ErrorCode = 'ERR_INTERNAL'): GatehouseError {
    if (value instanceof GatehouseError) return value;
    return new GatehouseError(fallback, { cause: value });
  }
}

/** True when `value` is a GatehouseError with `code`. */
export function hasCode(value: unknown, code: ErrorCode): boolean {
  return value instanceof GatehouseError && value.code === code;
}
