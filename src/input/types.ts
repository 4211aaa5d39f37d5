/**
 * The policy input document: exactly the OPA-Envoy plugin's (`attributes`, `parsed_path`,
 * `parsed_query`, `parsed_body`, `truncated_body`, `version`) plus `identity`.
 * `docs/reference/input.md` documents every field.
 */

import type { DeviceInput } from './device.js';

/** A JSON value as the policy sees it. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | JsonObject;

/** A JSON object as the policy sees it. */
export interface JsonObject {
  readonly [key: string]: JsonValue;
}

/** `input.version`: identical to the OPA-Envoy plugin's v3 value. */
export interface InputVersion {
  readonly encoding: 'protojson';
  readonly ext_authz: 'v3';
}

/** The `version` object every input carries (frozen, shared). */
export const INPUT_VERSION: InputVersion = Object.freeze({
  encoding: 'protojson',
  ext_authz: 'v3',
});

/** `input.identity` for a caller with no valid session or bearer token. */
export interface AnonymousIdentity {
  readonly authenticated: false;
}

/**
 * `input.identity` for a caller whose session cookie or bearer JWT was verified.
 *
 * Extension point: nothing fills this yet. The identity stage builds it from verified claims
 * and passes it to `buildInput`; the input stage never inspects tokens itself. Fields that a
 * token may lack are `null` (never absent) so policies can compare them without `object.get`.
 */
export interface AuthenticatedIdentity {
  readonly authenticated: true;
  /** How the identity was established: the session cookie, or an `Authorization: Bearer` JWT. */
  readonly method: 'session' | 'bearer';
  /** The `sub` claim. */
  readonly sub: string;
  readonly email: string | null;
  readonly email_verified: boolean;
  readonly name: string | null;
  /** Group names, as asserted by the identity provider (empty when none). */
  readonly groups: readonly string[];
  /** Every verified claim, unmodified. */
  readonly claims: JsonObject;
  /** Gatehouse session id (`sid`); `null` for bearer tokens. */
  readonly session_id: string | null;
  /** When the session or token was issued, seconds since the epoch (NumericDate). */
  readonly issued_at: number;
  /** When the session or token expires, seconds since the epoch (NumericDate). */
  readonly expires_at: number;
  /**
   * When the user last authenticated at the identity provider (the ID token's or bearer token's
   * `auth_time`, NumericDate); absent when it gave none. Step-up compares against it.
   */
  readonly auth_time?: number;
  /** Authentication context class (`acr`), e.g. an MFA level; absent when none was given. */
  readonly acr?: string;
  /** Authentication methods (`amr`), e.g. `["pwd", "otp"]`; absent when none were given. */
  readonly amr?: readonly string[];
}

/** `input.identity`: who is asking. Discriminated on `authenticated`. */
export type Identity = AnonymousIdentity | AuthenticatedIdentity;

/** The identity of every caller until the identity stage proves otherwise (frozen, shared). */
export const ANONYMOUS: AnonymousIdentity = Object.freeze({ authenticated: false });

/** The whole policy input document. */
export interface PolicyInput {
  /** The CheckRequest's `AttributeContext` as the plugin's protomap writes it (see attributes.ts). */
  readonly attributes: JsonObject;
  /** The request path split on `/`, leading slashes dropped, each segment percent-decoded. */
  readonly parsed_path: readonly string[];
  /** The query string: every key maps to an array of its decoded values, in order. */
  readonly parsed_query: Readonly<Record<string, readonly string[]>>;
  /** The parsed request body, or `null` when there is none, it was truncated, or its type is not parsed. */
  readonly parsed_body: JsonValue;
  /** True when Envoy sent only part of the body. */
  readonly truncated_body: boolean;
  readonly version: InputVersion;
  /** `attributes.source.principal` (mTLS: the client certificate's URI SAN or subject), when set. */
  readonly source_principal?: string;
  readonly identity: Identity;
  /** The device's client certificate (src/device); present only when `device` is configured. */
  readonly device?: DeviceInput;
}
