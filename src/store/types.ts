/**
 * The session store's contract: where server-side session records live, so that any replica can
 * find, refresh and revoke them. Two implementations share it: `memory` (one process) and `redis`
 * (any number of replicas). `test/unit/store/contract.ts` runs the same suite against both.
 */
import type { JsonObject } from '../input/types.js';

/**
 * One session as the store keeps it. `data` (identity, tokens) is encrypted at rest; the times
 * and `sub` are what the store needs to expire, index and list it.
 */
export interface SessionRecord {
  /** Session id: 128 random bits, base64url (the cookie's handle). */
  readonly sid: string;
  /** Subject at the identity provider (revocation by user; kept encrypted, indexed by HMAC). */
  readonly sub: string;
  /** When the session was created (ms since the epoch). */
  readonly createdAt: number;
  /** Absolute end of the session (ms since the epoch): the store forgets it then. */
  readonly expiresAt: number;
  /** What the session carries (identity, claims, tokens): opaque to the store. */
  readonly data: JsonObject;
  /**
   * The identity provider's session this one came from (the ID token's `iss` and `sid`), when
   * it named one: back-channel logout by `sid` finds it (kept encrypted, indexed by HMAC).
   */
  readonly idp?: { readonly iss: string; readonly sid: string };
}

/** A record as read back: the record plus when it was last used. */
export interface StoredSession extends SessionRecord {
  /** Last request seen on this session (ms since the epoch), from {@link SessionStore.touch}. */
  readonly lastSeenAt: number;
}

/**
 * What changed, as the change feed reports it. `reset` means events may have been missed (the
 * feed reconnected): a cache must drop everything it holds.
 */
export type StoreChange =
  | { readonly kind: 'revoked'; readonly sid: string }
  | { readonly kind: 'updated'; readonly sid: string }
  | { readonly kind: 'reset' };

/** Whether the store can be reached, for readiness and metrics. */
export interface StoreStatus {
  /** True while commands and the change feed are connected. */
  readonly reachable: boolean;
  /** Since when the store has been unreachable (ms since the epoch), when it is. */
  readonly unreachableSince?: number;
}

/** Namespaces of single-use keys: one replay cache per purpose, shared by every replica. */
export type OnceNamespace = 'sign-in-state' | 'handoff-jti' | 'backchannel-jti';

/**
 * One enrolled device (a WebAuthn credential) as the store keeps it: `data` (the device record)
 * is encrypted at rest like a session record; `id` and `sub` are what the store indexes.
 * Devices do not expire; a removed device stays, revoked, so its id can never enroll again.
 */
export interface DeviceEntry {
  /** The credential id (base64url). */
  readonly id: string;
  /** The user who enrolled it (kept encrypted, indexed by HMAC). */
  readonly sub: string;
  /** The device record: opaque to the store (src/device/webauthn/types.ts). */
  readonly data: JsonObject;
}

/** A device entry as read back, with its revision (1 at creation, +1 per replace). */
export interface StoredDeviceEntry extends DeviceEntry {
  readonly revision: number;
}

/** Namespaces of short-lived single-use values (see {@link SessionStore.putValue}). */
export type ValueNamespace = 'webauthn-challenge';

/** A lock held by this replica (see {@link SessionStore.acquireLock}). */
export interface LockLease {
  /** The random token that proves ownership. */
  readonly token: string;
  /**
   * Release the lock if this lease still owns it (it may have expired and been taken by
   * another owner, whose lock is then left alone).
   *
   * @returns true when this lease's lock was deleted.
   * @throws GatehouseError `ERR_SESSION_STORE_UNAVAILABLE` when the store cannot be reached.
   */
  release(): Promise<boolean>;
}

/** Filter for {@link SessionStore.list}. */
export interface ListOptions {
  /** Only this user's sessions. */
  readonly sub?: string;
  /** At most this many (default 1000). */
  readonly limit?: number;
}

/**
 * A session store. Every method that touches the network throws GatehouseError
 * `ERR_SESSION_STORE_UNAVAILABLE` when the store cannot be reached (never waits unbounded: the
 * Redis store fails fast while disconnected and bounds each command), and
 * `ERR_SESSION_RECORD_INVALID` when a stored record fails authenticated decryption.
 *
 * Writes never resurrect a revoked session: `create` refuses an id that exists, and `update` /
 * `touch` change only a record that still exists.
 */
export interface SessionStore {
  /** `memory` or `redis`, for logs and metrics. */
  readonly kind: 'memory' | 'redis';

  /**
   * Store a new session (at sign-in; the id is fresh and random).
   *
   * @returns false when a session with this id already exists (nothing is written).
   */
  create(record: SessionRecord): Promise<boolean>;

  /**
   * Replace an existing session's record (after a refresh), keeping its `lastSeenAt`.
   *
   * @returns false when the session no longer exists (revoked or expired): it is not recreated.
   */
  update(record: SessionRecord): Promise<boolean>;

  /** The session, or undefined when it does not exist (never created, revoked, or expired). */
  get(sid: string): Promise<StoredSession | undefined>;

  /**
   * Record activity on a session (for the idle timeout).
   *
   * @returns false when the session no longer exists.
   */
  touch(sid: string, at: number): Promise<boolean>;

  /**
   * Revoke (delete) one session and announce it on the change feed.
   *
   * @returns true when it existed.
   */
  revoke(sid: string): Promise<boolean>;

  /**
   * Revoke every session of a user and announce each on the change feed.
   *
   * @returns the revoked session ids.
   */
  revokeUser(sub: string): Promise<readonly string[]>;

  /**
   * Revoke every session that came from the identity provider's session `sid` at `iss` (see
   * {@link SessionRecord.idp}; back-channel logout) and announce each on the change feed.
   *
   * @returns the revoked session ids.
   */
  revokeIdpSession(iss: string, sid: string): Promise<readonly string[]>;

  /** Sessions, for operators (`gatehouse sessions list`). */
  list(options?: ListOptions): Promise<readonly StoredSession[]>;

  /**
   * Follow the change feed. The listener is called for every change made through any client of
   * this store (this one included), and with `reset` when events may have been missed.
   *
   * @returns a function that stops the subscription.
   */
  subscribe(listener: (change: StoreChange) => void): () => void;

  /**
   * Claim a single-use key (sign-in state, hand-off `jti`, back-channel logout `jti`): set it if
   * absent, for `ttlMs`.
   *
   * @returns true for the first claim, false when it was already claimed and has not expired.
   */
  claimOnce(namespace: OnceNamespace, key: string, ttlMs: number): Promise<boolean>;

  /**
   * Give a claimed single-use key back, when what it was claimed for could not be done (a
   * back-channel logout whose revocation failed: the identity provider may then retry it).
   */
  releaseOnce(namespace: OnceNamespace, key: string): Promise<void>;

  /**
   * Take a lock (single-flight refresh across replicas): set if absent, with `ttlMs` and a random
   * owner token.
   *
   * @returns the lease, or undefined when another owner holds the lock.
   */
  acquireLock(name: string, ttlMs: number): Promise<LockLease | undefined>;

  /**
   * Enroll a device.
   *
   * @returns false when a device with this id exists (revoked included): nothing is written.
   */
  createDevice(entry: DeviceEntry): Promise<boolean>;

  /** The device, or undefined when it was never enrolled. */
  getDevice(id: string): Promise<StoredDeviceEntry | undefined>;

  /**
   * Replace a device's entry if its stored revision is still `revision` (compare-and-set: a
   * read-modify-write by one replica never overwrites another's). `entry.sub` must not change.
   *
   * @returns false when the device changed meanwhile, or does not exist.
   */
  replaceDevice(entry: DeviceEntry, revision: number): Promise<boolean>;

  /** Devices, for the owner's page and operators (`gatehouse devices list`). */
  listDevices(options?: ListOptions): Promise<readonly StoredDeviceEntry[]>;

  /** Remember `value` under `key` for `ttlMs` (WebAuthn challenges; encrypted at rest). */
  putValue(namespace: ValueNamespace, key: string, value: string, ttlMs: number): Promise<void>;

  /**
   * Take (read and delete, atomically) the value under `key`.
   *
   * @returns the value at most once, ever; undefined when unknown, taken or expired.
   */
  takeValue(namespace: ValueNamespace, key: string): Promise<string | undefined>;

  /** Reachability now, for readiness. */
  status(): StoreStatus;

  /** Follow reachability changes (readiness, metrics). Returns a function that stops it. */
  onStatus(listener: (status: StoreStatus) => void): () => void;

  /** Disconnect and stop timers; later calls fail with `ERR_SESSION_STORE_UNAVAILABLE`. */
  close(): Promise<void>;
}
