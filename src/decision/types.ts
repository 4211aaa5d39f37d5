import type { StepUp } from './step-up.js';

/** A JSON value as the policy produced it. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** One header to write, in the order the policy gave it. */
export interface HeaderEntry {
  readonly name: string;
  readonly value: string;
}

/** One query parameter to set on the upstream request. */
export interface QueryEntry {
  readonly key: string;
  readonly value: string;
}

/**
 * A policy decision, validated and normalised from either form the OPA-Envoy plugin accepts:
 * a boolean, or an object with `allowed` and optional response fields. Gatehouse adds `reasons`.
 */
export interface Decision {
  readonly allowed: boolean;
  /** Allow: headers added to the upstream request. Deny: headers on the response to the client. */
  readonly headers: readonly HeaderEntry[];
  /** Allow only: headers added to the upstream's response before it reaches the client. */
  readonly responseHeadersToAdd: readonly HeaderEntry[];
  /** Allow only: headers removed from the request before it reaches the upstream. */
  readonly requestHeadersToRemove: readonly string[];
  /** Allow only: query parameters set (replaced) on the upstream request. */
  readonly queryParametersToSet: readonly QueryEntry[];
  /** Allow only: query parameters removed from the upstream request. */
  readonly queryParametersToRemove: readonly string[];
  /** Deny only: the HTTP status, when the policy chose one (default 403). */
  readonly httpStatus: number | undefined;
  /** Deny only: the response body, when the policy chose one. */
  readonly body: string | undefined;
  /** `CheckResponse.dynamic_metadata`, for Envoy's later filters and access logs. */
  readonly dynamicMetadata: JsonObject | undefined;
  /** Why: shown on the deny page and written to the decision log. */
  readonly reasons: readonly string[];
  /**
   * Allow only: allowed only with a recent or strong enough authentication
   * (`max_auth_age_seconds`, `acr_values`); `undefined` when the decision asks for neither.
   */
  readonly stepUp: StepUp | undefined;
  /**
   * Allow only: allowed only for a session with a recent proof of possession of an enrolled
   * device (`require_device`, `require_user_verification`); `undefined` when not asked.
   */
  readonly requireDevice: DeviceRequirement | undefined;
}

/** What a decision asks of the caller's device (src/decision/device-proof.ts). */
export interface DeviceRequirement {
  /** The proof must have verified the user (PIN, biometrics). */
  readonly userVerification: boolean;
}
