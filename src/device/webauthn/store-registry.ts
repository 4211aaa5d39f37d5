/**
 * The device registry and the challenge store on the session store (src/store/): every replica
 * sees the same devices and challenges, device records are encrypted at rest like session
 * records, and each read-modify-write is a compare-and-set on the entry's revision.
 */
import { GatehouseError } from '../../errors/gatehouse-error.js';
import type { JsonObject } from '../../input/types.js';
import type { SessionStore, StoredDeviceEntry } from '../../store/types.js';
import { type AssertionOutcome, applyAssertion } from './assertion-rule.js';
import type { ChallengeStore, DeviceRecord, DeviceRegistry } from './types.js';

/** The part of the session store devices use. */
export type DeviceStore = Pick<
  SessionStore,
  'createDevice' | 'getDevice' | 'replaceDevice' | 'listDevices' | 'putValue' | 'takeValue'
>;

/** Attempts of one read-modify-write before giving up (each lost race means another won). */
const ATTEMPTS = 8;

/**
 * A {@link DeviceRegistry} on the session store.
 *
 * @example const registry = new StoreDeviceRegistry(opened.store);
 */
export class StoreDeviceRegistry implements DeviceRegistry {
  readonly #store: DeviceStore;

  constructor(store: DeviceStore) {
    this.#store = store;
  }

  async listByUser(sub: string): Promise<readonly DeviceRecord[]> {
    const entries = await this.#store.listDevices({ sub });
    return entries.map(toRecord).sort((a, b) => a.registered_at - b.registered_at);
  }

  /** Every device, for operators (`gatehouse devices list`). */
  async listAll(limit?: number): Promise<readonly DeviceRecord[]> {
    const entries = await this.#store.listDevices(limit === undefined ? {} : { limit });
    return entries.map(toRecord).sort((a, b) => a.registered_at - b.registered_at);
  }

  async get(id: string): Promise<DeviceRecord | undefined> {
    const entry = await this.#store.getDevice(id);
    return entry === undefined ? undefined : toRecord(entry);
  }

  async put(record: DeviceRecord): Promise<void> {
    if (await this.create(record)) return;
    await this.#change(record.id, () => record);
  }

  async create(record: DeviceRecord): Promise<boolean> {
    return this.#store.createDevice(toEntry(record));
  }

  async recordAssertion(
    id: string,
    sub: string,
    counter: number,
    at: number,
  ): Promise<AssertionOutcome> {
    let outcome: AssertionOutcome = { ok: false, reason: 'unknown' };
    await this.#change(id, (current) => {
      outcome = applyAssertion(current, sub, counter, at);
      return outcome.ok ? outcome.device : undefined;
    });
    return outcome;
  }

  async approve(id: string): Promise<boolean> {
    return this.#change(id, (current) =>
      current.approval === 'revoked' ? undefined : { ...current, approval: 'approved' },
    );
  }

  async revoke(id: string): Promise<boolean> {
    return this.#change(id, (current) => ({ ...current, approval: 'revoked' }));
  }

  /**
   * Read, compute, compare-and-set; again from a fresh read when another replica wrote first.
   *
   * @returns false when the device is unknown or `next` declines (returns undefined).
   * @throws GatehouseError `ERR_SESSION_STORE_UNAVAILABLE` after {@link ATTEMPTS} lost races.
   */
  async #change(
    id: string,
    next: (current: DeviceRecord) => DeviceRecord | undefined,
  ): Promise<boolean> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const entry = await this.#store.getDevice(id);
      if (entry === undefined) return false;
      const updated = next(toRecord(entry));
      if (updated === undefined) return false;
      if (await this.#store.replaceDevice(toEntry(updated), entry.revision)) return true;
    }
    throw new GatehouseError('ERR_SESSION_STORE_UNAVAILABLE', {
      cause: new Error(`device ${id}: too many concurrent changes`),
    });
  }
}

/**
 * A {@link ChallengeStore} on the session store's single-use values: a challenge issued by one
 * replica can be answered at any other, once.
 */
export class StoreChallengeStore implements ChallengeStore {
  readonly #store: DeviceStore;

  constructor(store: DeviceStore) {
    this.#store = store;
  }

  async put(key: string, value: string, ttlSeconds: number): Promise<void> {
    await this.#store.putValue('webauthn-challenge', key, value, ttlSeconds * 1000);
  }

  async claimOnce(key: string): Promise<string | undefined> {
    return this.#store.takeValue('webauthn-challenge', key);
  }
}

function toEntry(record: DeviceRecord): { id: string; sub: string; data: JsonObject } {
  return { id: record.id, sub: record.sub, data: JSON.parse(JSON.stringify(record)) as JsonObject };
}

/**
 * The device record in a stored entry, checked field by field (fail closed: a record that does
 * not parse is refused, never half-trusted).
 *
 * @throws GatehouseError `ERR_SESSION_RECORD_INVALID`.
 */
function toRecord(entry: StoredDeviceEntry): DeviceRecord {
  const d = entry.data;
  const str = (k: string) => typeof d[k] === 'string';
  const num = (k: string) => typeof d[k] === 'number' && Number.isFinite(d[k]);
  const ok =
    d['id'] === entry.id &&
    d['sub'] === entry.sub &&
    (d['kind'] === 'platform' || d['kind'] === 'cross-platform') &&
    str('public_key') &&
    num('counter') &&
    Array.isArray(d['transports']) &&
    d['transports'].every((t) => typeof t === 'string') &&
    str('aaguid') &&
    str('attestation_format') &&
    num('registered_at') &&
    (d['approval'] === 'pending' || d['approval'] === 'approved' || d['approval'] === 'revoked') &&
    (d['last_used'] === undefined || num('last_used'));
  if (!ok)
    throw new GatehouseError('ERR_SESSION_RECORD_INVALID', {
      cause: new Error(`device ${entry.id}: record is malformed`),
    });
  return d as unknown as DeviceRecord;
}
