/**
 * The enrolled-device model: what Gatehouse remembers about a WebAuthn credential a user
 * registered, the registry that keeps those records, the single-use challenge store the
 * ceremonies use, and the settings they run under.
 */
import type { AuthenticatorTransport } from '@simplewebauthn/server';
import type { AssertionOutcome } from './assertion-rule.js';

/** `platform`: built into the device (Touch ID, Windows Hello); `cross-platform`: a security key. */
export type DeviceKind = 'platform' | 'cross-platform';

/** `pending` until an operator approves (when approval is required); `revoked` is final. */
export type ApprovalState = 'pending' | 'approved' | 'revoked';

/** Attestation statement formats (WebAuthn § 8) a policy may allow; `none` is unattested. */
export const ATTESTATION_FORMATS = [
  'none',
  'packed',
  'tpm',
  'android-key',
  'android-safetynet',
  'fido-u2f',
  'apple',
] as const;
export type AttestationFormatName = (typeof ATTESTATION_FORMATS)[number];

/** One enrolled device: a WebAuthn credential bound to one user. JSON-safe (a store can keep it). */
export interface DeviceRecord {
  /** The credential id (base64url): unique across users, stable for the device's life. */
  readonly id: string;
  /** The `sub` of the user who enrolled it. */
  readonly sub: string;
  readonly kind: DeviceKind;
  /** COSE public key, base64url. */
  readonly public_key: string;
  /** The signature counter last seen (0 when the authenticator does not count). */
  readonly counter: number;
  readonly transports: readonly AuthenticatorTransport[];
  /** Authenticator model (a UUID; all zeros when unattested). */
  readonly aaguid: string;
  /** The attestation format it enrolled with. */
  readonly attestation_format: string;
  /** Unix seconds. */
  readonly registered_at: number;
  readonly approval: ApprovalState;
  /** Unix seconds of the last successful assertion, if any. */
  readonly last_used?: number;
}

/**
 * Where device records live. The in-memory one (`memory-registry.ts`) serves one process and the
 * tests; a store-backed one keeps the same records as JSON under the session store's keys.
 * Every method may reject; callers treat a rejection as a refusal (fail closed).
 */
export interface DeviceRegistry {
  /** The user's devices, revoked ones included, oldest first. */
  listByUser(sub: string): Promise<readonly DeviceRecord[]>;
  get(id: string): Promise<DeviceRecord | undefined>;
  /** Insert or replace the record with `record.id`. */
  put(record: DeviceRecord): Promise<void>;
  /**
   * Insert a new record in one atomic step.
   *
   * @returns false (nothing written) when a record with `record.id` exists, revoked included.
   */
  create(record: DeviceRecord): Promise<boolean>;
  /**
   * Record a verified assertion by `sub` with signature counter `counter` at `at` (Unix
   * seconds): read, compare ({@link applyAssertion}) and write in one atomic step, so two
   * concurrent assertions can never both pass against the same stored counter.
   */
  recordAssertion(id: string, sub: string, counter: number, at: number): Promise<AssertionOutcome>;
  /** `pending` → `approved`; false when the device is unknown or revoked. */
  approve(id: string): Promise<boolean>;
  /** → `revoked` (final); false when the device is unknown. */
  revoke(id: string): Promise<boolean>;
}

/**
 * Single-use values with a lifetime: a challenge is remembered with `put` and consumed with
 * `claimOnce`, which returns it at most once, ever, and never after its TTL. The session store's
 * single-use keys implement the same contract across replicas.
 */
export interface ChallengeStore {
  put(key: string, value: string, ttlSeconds: number): Promise<void>;
  /** The value, removed atomically; `undefined` when unknown, already claimed or expired. */
  claimOnce(key: string): Promise<string | undefined>;
}

/** How ceremonies run: the relying party, and what the attestation policy accepts. */
export interface WebAuthnSettings {
  /** The RP ID: a registrable domain suffix of every origin, e.g. `example.com`. */
  readonly rpId: string;
  /** Shown by the browser during registration. */
  readonly rpName: string;
  /** Exact origins the ceremonies may happen on, e.g. `https://app.example.com`. */
  readonly origins: readonly string[];
  /** Attestation formats accepted at registration. */
  readonly attestationFormats: readonly AttestationFormatName[];
  /** Authenticator models accepted (AAGUIDs, lower case); empty: any. */
  readonly aaguids: readonly string[];
  /** `true`: UV flag required on registration and every assertion; `false`: preferred. */
  readonly requireUserVerification: boolean;
  /** New devices start `pending` until an operator approves them. */
  readonly operatorApproval: boolean;
  /** How long a challenge may be answered. */
  readonly challengeTtlSeconds: number;
}
