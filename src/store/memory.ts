/**
 * The embedded session store: one process, no network. In `workers` mode the primary owns the
 * one instance and workers reach it over the cluster IPC channel (src/store/ipc.ts), so every
 * worker sees the same sessions, revocations, single-use keys and locks.
 *
 * Records stay in this process's memory only, so they are not encrypted here (the Redis store
 * encrypts every record it sends out, src/store/seal.ts).
 */
import { randomBytes } from 'node:crypto';
import { GatehouseError } from '../errors/gatehouse-error.js';
import type {
  DeviceEntry,
  ListOptions,
  LockLease,
  OnceNamespace,
  SessionRecord,
  SessionStore,
  StoreChange,
  StoreStatus,
  StoredDeviceEntry,
  StoredSession,
  ValueNamespace,
} from './types.js';

/** Options for {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /** The clock, ms since the epoch (tests freeze it). */
  readonly now?: () => number;
  /** How often expired entries are swept (default 60 s); the sweep timer is unref'd. */
  readonly sweepIntervalMs?: number;
}

/** Most single-use keys kept (see {@link MemoryStore.claimOnce}); about 100 bytes each. */
export const MAX_ONCE_KEYS = 100_000;

/**
 * The `memory` session store.
 *
 * @example const store = new MemoryStore();
 */
export class MemoryStore implements SessionStore {
  readonly kind = 'memory';
  readonly #now: () => number;
  readonly #sessions = new Map<string, StoredSession>();
  /** Single-use keys and locks: key → expiry (ms). */
  readonly #expiring = new Map<string, number>();
  /** Locks: key → the owner's token. */
  readonly #owners = new Map<string, string>();
  readonly #listeners = new Set<(change: StoreChange) => void>();
  readonly #devices = new Map<string, StoredDeviceEntry>();
  /** Single-use values: key → value and expiry (ms). */
  readonly #values = new Map<string, { value: string; expiresAt: number }>();
  readonly #sweep: NodeJS.Timeout;
  #closed = false;
  #closedAt: number | undefined;

  constructor(options: MemoryStoreOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#sweep = setInterval(() => this.#sweepExpired(), options.sweepIntervalMs ?? 60_000);
    this.#sweep.unref();
  }

  async create(record: SessionRecord): Promise<boolean> {
    this.#open();
    if (this.#live(record.sid) !== undefined) return false;
    if (record.expiresAt <= this.#now()) return false;
    this.#sessions.set(record.sid, { ...copy(record), lastSeenAt: this.#now() });
    return true;
  }

  async update(record: SessionRecord): Promise<boolean> {
    this.#open();
    const existing = this.#live(record.sid);
    if (existing === undefined) return false;
    this.#sessions.set(record.sid, { ...copy(record), lastSeenAt: existing.lastSeenAt });
    this.#emit({ kind: 'updated', sid: record.sid });
    return true;
  }

  async get(sid: string): Promise<StoredSession | undefined> {
    this.#open();
    const found = this.#live(sid);
    return found === undefined ? undefined : copy(found);
  }

  async touch(sid: string, at: number): Promise<boolean> {
    this.#open();
    const existing = this.#live(sid);
    if (existing === undefined) return false;
    if (at > existing.lastSeenAt) this.#sessions.set(sid, { ...existing, lastSeenAt: at });
    return true;
  }

  async revoke(sid: string): Promise<boolean> {
    this.#open();
    const existed = this.#live(sid) !== undefined;
    this.#sessions.delete(sid);
    // Announced even when absent here: a replica may still cache it.
    this.#emit({ kind: 'revoked', sid });
    return existed;
  }

  async revokeUser(sub: string): Promise<readonly string[]> {
    this.#open();
    const sids = [...this.#sessions.values()].filter((s) => s.sub === sub).map((s) => s.sid);
    for (const sid of sids) await this.revoke(sid);
    return sids;
  }

  async revokeIdpSession(iss: string, sid: string): Promise<readonly string[]> {
    this.#open();
    const sids = [...this.#sessions.values()]
      .filter((s) => s.idp?.iss === iss && s.idp.sid === sid)
      .map((s) => s.sid);
    for (const id of sids) await this.revoke(id);
    return sids;
  }

  async list(options: ListOptions = {}): Promise<readonly StoredSession[]> {
    this.#open();
    const limit = options.limit ?? 1000;
    const out: StoredSession[] = [];
    for (const sid of this.#sessions.keys()) {
      const s = this.#live(sid);
      if (s === undefined || (options.sub !== undefined && s.sub !== options.sub)) continue;
      out.push(copy(s));
      if (out.length >= limit) break;
    }
    return out;
  }

  subscribe(listener: (change: StoreChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async claimOnce(namespace: OnceNamespace, key: string, ttlMs: number): Promise<boolean> {
    this.#open();
    const claimed = this.#setIfAbsent(`once:${namespace}:${key}`, ttlMs);
    if (claimed) this.#boundOnceKeys();
    return claimed;
  }

  async releaseOnce(namespace: OnceNamespace, key: string): Promise<void> {
    this.#open();
    this.#expiring.delete(`once:${namespace}:${key}`);
  }

  async acquireLock(name: string, ttlMs: number): Promise<LockLease | undefined> {
    this.#open();
    const key = `lock:${name}`;
    const token = randomBytes(16).toString('base64url');
    if (!this.#setIfAbsent(key, ttlMs)) return undefined;
    this.#owners.set(key, token);
    return {
      token,
      release: async () => {
        this.#open();
        if (this.#owners.get(key) !== token || !this.#held(key)) return false;
        this.#expiring.delete(key);
        this.#owners.delete(key);
        return true;
      },
    };
  }

  async createDevice(entry: DeviceEntry): Promise<boolean> {
    this.#open();
    if (this.#devices.has(entry.id)) return false;
    this.#devices.set(entry.id, { ...copy(entry), revision: 1 });
    return true;
  }

  async getDevice(id: string): Promise<StoredDeviceEntry | undefined> {
    this.#open();
    const found = this.#devices.get(id);
    return found === undefined ? undefined : copy(found);
  }

  // Compare and write with no await in between: atomic in one process.
  async replaceDevice(entry: DeviceEntry, revision: number): Promise<boolean> {
    this.#open();
    const current = this.#devices.get(entry.id);
    if (current === undefined || current.revision !== revision || current.sub !== entry.sub)
      return false;
    this.#devices.set(entry.id, { ...copy(entry), revision: revision + 1 });
    return true;
  }

  async listDevices(options: ListOptions = {}): Promise<readonly StoredDeviceEntry[]> {
    this.#open();
    const limit = options.limit ?? 1000;
    const out: StoredDeviceEntry[] = [];
    for (const d of this.#devices.values()) {
      if (options.sub !== undefined && d.sub !== options.sub) continue;
      out.push(copy(d));
      if (out.length >= limit) break;
    }
    return out;
  }

  async putValue(
    namespace: ValueNamespace,
    key: string,
    value: string,
    ttlMs: number,
  ): Promise<void> {
    this.#open();
    if (!(ttlMs > 0)) throw new Error('ttlMs must be positive');
    this.#values.set(`${namespace}:${key}`, { value, expiresAt: this.#now() + ttlMs });
  }

  async takeValue(namespace: ValueNamespace, key: string): Promise<string | undefined> {
    this.#open();
    const k = `${namespace}:${key}`;
    const entry = this.#values.get(k);
    this.#values.delete(k);
    return entry !== undefined && entry.expiresAt > this.#now() ? entry.value : undefined;
  }

  status(): StoreStatus {
    // Closed: unreachable since then (the cache serves what it holds for its stale window).
    return this.#closedAt === undefined
      ? { reachable: true }
      : { reachable: false, unreachableSince: this.#closedAt };
  }

  onStatus(_listener: (status: StoreStatus) => void): () => void {
    // Always reachable while open: nothing ever changes.
    return () => {};
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#closedAt ??= this.#now();
    clearInterval(this.#sweep);
    this.#listeners.clear();
  }

  #open(): void {
    if (this.#closed)
      throw new GatehouseError('ERR_SESSION_STORE_UNAVAILABLE', {
        cause: new Error('the memory store is closed'),
      });
  }

  #live(sid: string): StoredSession | undefined {
    const s = this.#sessions.get(sid);
    if (s === undefined) return undefined;
    if (s.expiresAt <= this.#now()) {
      this.#sessions.delete(sid);
      return undefined;
    }
    return s;
  }

  #held(key: string): boolean {
    const until = this.#expiring.get(key);
    return until !== undefined && until > this.#now();
  }

  #setIfAbsent(key: string, ttlMs: number): boolean {
    if (!(ttlMs > 0)) throw new Error('ttlMs must be positive');
    if (this.#held(key)) return false;
    this.#expiring.set(key, this.#now() + ttlMs);
    this.#owners.delete(key);
    return true;
  }

  /**
   * Single-use keys can be made without signing in (a sign-in `state` per callback attempt), so
   * their number is bounded: past {@link MAX_ONCE_KEYS} the oldest go (the closest to expiry;
   * the periodic sweep removes the expired). Locks are never dropped. O(1) per claim: the oldest
   * are first in the map's order.
   */
  #boundOnceKeys(): void {
    for (const key of this.#expiring.keys()) {
      if (this.#expiring.size <= MAX_ONCE_KEYS) return;
      if (key.startsWith('once:')) this.#expiring.delete(key);
    }
  }

  #emit(change: StoreChange): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(change);
      } catch {
        // A listener's bug must not stop the others from hearing a revocation.
      }
    }
  }

  #sweepExpired(): void {
    const now = this.#now();
    for (const sid of this.#sessions.keys()) this.#live(sid);
    for (const [key, entry] of this.#values) if (entry.expiresAt <= now) this.#values.delete(key);
    for (const [key, until] of this.#expiring) {
      if (until <= now) {
        this.#expiring.delete(key);
        this.#owners.delete(key);
      }
    }
  }
}

/** A deep copy, so callers can never change what the store holds. */
function copy<T>(value: T): T {
  return structuredClone(value);
}
